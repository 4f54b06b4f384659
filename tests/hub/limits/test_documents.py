"""Trusted documents: registered by SHA-256 (`hub documents add`), sent by hash alone
(Apollo's `extensions.persistedQuery.sha256Hash`), and with
`HUB_TRUSTED_DOCUMENTS=required` the only documents that run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from limits_support import LimitedHub, limited_hub

from hub.cli import main
from hub.limits.documents import DocumentStore, document_hash

REGISTERED = "query Registered { __typename }"


def _persisted(digest: str, query: str | None = None) -> dict[str, object]:
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    return {"extensions": extensions} | ({"query": query} if query else {})


@pytest.fixture(scope="module")
def trusted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LimitedHub]:
    data_dir = tmp_path_factory.mktemp("trusted")
    DocumentStore(data_dir / "documents").add(REGISTERED)
    with limited_hub(data_dir, trusted_documents="required") as running:
        yield running


def _first_error(trusted: LimitedHub, payload: dict[str, object]) -> dict[str, object]:
    response = trusted.client().post("/graphql", json=payload)
    assert response.status_code == 200
    error: dict[str, object] = response.json()["errors"][0]
    return error


def test_a_registered_hash_runs_its_document(trusted: LimitedHub) -> None:
    body = trusted.client().post("/graphql", json=_persisted(document_hash(REGISTERED))).json()
    assert body == {"data": {"__typename": "Query"}}


def test_a_registered_document_runs_as_text(trusted: LimitedHub) -> None:
    assert trusted.client().post("/graphql", json={"query": REGISTERED}).json() == {
        "data": {"__typename": "Query"}
    }


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (_persisted("0" * 64), "PERSISTED_QUERY_NOT_FOUND"),
        (_persisted("../../etc/passwd"), "PERSISTED_QUERY_NOT_FOUND"),
        (_persisted(document_hash(REGISTERED), "{ __typename }"), "PERSISTED_QUERY_HASH_MISMATCH"),
        ({"query": "{ __typename }"}, "TRUSTED_DOCUMENT_REQUIRED"),
    ],
    ids=["unknown hash", "hash as a path", "hash mismatch", "unregistered document"],
)
def test_other_documents_are_refused(
    trusted: LimitedHub, payload: dict[str, object], code: str
) -> None:
    error = _first_error(trusted, payload)
    assert error["extensions"]["code"] == code  # type: ignore[index]


def test_cli_registers_a_valid_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    (tmp_path / "ok.graphql").write_text(REGISTERED)
    (tmp_path / "bad.graphql").write_text("{ salary }")
    assert main(["documents", "add", str(tmp_path / "ok.graphql")]) == 0
    assert capsys.readouterr().out.split()[0] == document_hash(REGISTERED)
    assert DocumentStore(tmp_path / "documents").get(document_hash(REGISTERED)) == REGISTERED
    assert main(["documents", "add", str(tmp_path / "bad.graphql")]) == 1
    assert "salary" in capsys.readouterr().err


def test_the_event_stream_runs_only_trusted_documents_too(trusted: LimitedHub) -> None:
    """`/graphql/stream` (POST, and the GET an EventSource opens) is no way around
    `HUB_TRUSTED_DOCUMENTS=required`; a registered hash runs there as on `/graphql`."""
    client = trusted.client()
    for refused in (
        client.post("/graphql/stream", json={"query": "{ __typename }"}),
        client.get("/graphql/stream", params={"query": "{ __typename }"}),
    ):
        assert refused.headers["content-type"].startswith("application/json"), refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
    persisted = json.dumps(_persisted(document_hash(REGISTERED))["extensions"])
    ran = client.get("/graphql/stream", params={"extensions": persisted})
    assert ran.headers["content-type"].startswith("text/event-stream")
    assert '{"data":{"__typename":"Query"}}' in ran.text
