"""Apollo's gateway, in front of the five connectors each served as its own subgraph
process, answers a cross-agency query exactly as the hub does."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
from apollo import apollo_tools, compose, subgraph_sdl

from conftest import TEST_CLIENT, TEST_PURPOSE, RunningHub, _free_port, serving
from connectors.base import discover
from graph.merged import HUB_SUBGRAPH
from hub.subgraph_app import create_subgraph_app

DOSSIER = """{ project(code: "410183202503171901") {
    name region { name }
    compliance(month: "2026-10") { level measures { measure satisfied } }
    wagePositions(month: "2026-10", status: [UNPAID]) { dueFen worker { name } }
    wageAccount { bankName accountNo holder { name blacklisted creditGrade { grade } } }
    disputeCases { caseNumber parties { name } }
} }"""
"""Housing's project and enterprise, the bank's account, HR's credit, the court's cases,
and the hub's own compliance and wage positions, computed from all of them."""


@pytest.fixture(scope="module")
def gateway(hub: RunningHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tools = apollo_tools()
    where = tmp_path_factory.mktemp("supergraph")
    names = [*(c.name for c in discover()), HUB_SUBGRAPH]
    with ExitStack() as stack:
        urls = {
            name: stack.enter_context(serving(create_subgraph_app(name, hub.settings))) + "/graphql"
            for name in names
        }
        composed = compose(tools, {name: subgraph_sdl(name) for name in names}, where, urls)
        assert composed.returncode == 0, composed.stderr
        (where / "supergraph.graphql").write_text(composed.stdout, encoding="utf-8")
        supergraph = where / "supergraph.graphql"
        process = stack.enter_context(
            subprocess.Popen(
                ["node", str(tools / "gateway.mjs"), str(supergraph), str(_free_port())],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
        stack.callback(process.terminate)
        assert process.stdout is not None
        # Node may warn first (e.g. a cloud metadata probe the gateway's libraries make).
        said = []
        while not (line := process.stdout.readline()).startswith("ready "):
            said.append(line)
            assert line, "".join(said)  # the gateway exited before it was ready
            assert len(said) < 50, "".join(said)
        yield line.split()[1]


def test_the_gateway_answers_a_cross_agency_query_like_the_hub(
    hub: RunningHub, gateway: str
) -> None:
    response = httpx.post(
        gateway,
        json={"query": DOSSIER},
        headers={"Authorization": f"Bearer {hub.token(TEST_CLIENT)}", "X-Purpose": TEST_PURPOSE},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    expected = hub.data(DOSSIER)
    assert body["data"] == expected
    assert expected["project"]["wageAccount"]["holder"]["blacklisted"] is True
    assert expected["project"]["disputeCases"]
    assert expected["project"]["compliance"]["level"] == "RED"
    assert expected["project"]["wagePositions"]
