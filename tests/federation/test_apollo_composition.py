"""The five connectors' subgraph SDL composes into one supergraph, as judged by Apollo's
own composition library (an independent tool, not our code)."""

from __future__ import annotations

from pathlib import Path

from apollo import apollo_tools, compose, subgraph_sdl

from connectors.base import discover
from graph.merged import HUB_SUBGRAPH


def test_the_five_subgraphs_and_the_hubs_own_compose(tmp_path: Path) -> None:
    tools = apollo_tools()
    names = [*(c.name for c in discover()), HUB_SUBGRAPH]
    result = compose(tools, {name: subgraph_sdl(name) for name in names}, tmp_path)
    assert result.returncode == 0, result.stderr
    supergraph = result.stdout
    for name in names:
        assert f"graph: {name.upper()}" in supergraph
    assert "@requiresScopes" in supergraph
    for field in (
        "wageAccount",
        "registrations",
        "identity",
        "blacklisted",
        "parties",
        "wagePositions",
        "compliance",
        "projectWarnings",
    ):
        assert f"  {field}" in supergraph


def test_composition_reports_a_conflict(tmp_path: Path) -> None:
    """The check can fail: two subgraphs resolving one unshareable field do not compose."""
    tools = apollo_tools()
    bank = subgraph_sdl("bank")
    result = compose(tools, {"bank": bank, "bank_copy": bank}, tmp_path)
    assert result.returncode == 1
    assert "INVALID_FIELD_SHARING" in result.stderr
