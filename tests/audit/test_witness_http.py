"""The witness served by a real uvicorn, spoken to as a log speaks to it: the statuses
and content types of c2sp.org/tlog-witness on the wire, the log-side client's reading of
them, concurrent submissions, and a witness that is down."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from witness_support import NOW, Log, new_log, new_witness

from audit.merkle import prove_consistency
from audit.note import Note, Signature, open_note
from audit.witness import Witness
from audit.witness_app import create_witness_app
from audit.witness_client import (
    WitnessBehind,
    WitnessEndpoint,
    WitnessRefused,
    WitnessUnavailable,
    WitnessView,
    latest_view,
    request_cosignature,
)
from conftest import serving


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Log, Witness, str]]:
    log = new_log().grow(6)
    witness = new_witness(tmp_path / "witness", log)
    with serving(create_witness_app(witness, max_body_bytes=8_192)) as url:
        yield log, witness, url


def _endpoint(witness: Witness, url: str) -> WitnessEndpoint:
    return WitnessEndpoint.parse(url, witness.signer.verifier().vkey())


async def _cosign(endpoint: WitnessEndpoint, log: Log, old: int, size: int) -> Signature:
    async with httpx.AsyncClient() as http:
        proof = prove_consistency(old, size, log.tree) if old <= size else []
        return await request_cosignature(http, endpoint, old, proof, log.checkpoint(size))


def test_the_log_gets_verified_cosignatures(served: tuple[Log, Witness, str]) -> None:
    log, witness, url = served
    endpoint = _endpoint(witness, url)
    first = asyncio.run(_cosign(endpoint, log, 0, 6))
    note = log.checkpoint(6)
    assert open_note(Note(note.text, (first,)), [endpoint.verifier]).verified == (first,)
    log.grow(40)
    asyncio.run(_cosign(endpoint, log, 6, 40))
    assert witness.latest(log.origin) == (40, log.tree.root())


def test_the_client_reads_each_refusal(served: tuple[Log, Witness, str]) -> None:
    log, witness, url = served
    endpoint = _endpoint(witness, url)
    asyncio.run(_cosign(endpoint, log, 0, 6))
    with pytest.raises(WitnessBehind) as behind:
        asyncio.run(_cosign(endpoint, log, 0, 6))
    assert behind.value.size == 6
    rewritten = log.fork(2).grow(9, "edited")
    with pytest.raises(WitnessRefused) as refused:
        asyncio.run(_cosign(endpoint, rewritten, 6, 9))
    assert refused.value.status == 422
    stranger = Log(log.signer, origin="elsewhere.example/log").grow(2)
    with pytest.raises(WitnessRefused) as unknown:
        asyncio.run(_cosign(endpoint, stranger, 0, 2))
    assert unknown.value.status == 404


def test_a_verifier_reads_what_the_witness_last_cosigned(
    served: tuple[Log, Witness, str],
) -> None:
    """What `hub audit verify` compares the log with: the witness's own view, freshly
    cosigned, which the log's database cannot rewrite."""
    log, witness, url = served
    endpoint = _endpoint(witness, url)

    async def view() -> object:
        async with httpx.AsyncClient() as http:
            return await latest_view(http, endpoint, log.origin)

    assert asyncio.run(view()) is None
    asyncio.run(_cosign(endpoint, log, 0, 6))
    seen = asyncio.run(view())
    assert isinstance(seen, WitnessView)
    assert (seen.checkpoint.size, seen.checkpoint.root_hash) == (6, log.tree.root(6))
    assert seen.said_at == NOW
    assert open_note(seen.note, [log.signer.verifier()]).verified  # the log's own signature
    with httpx.Client(base_url=url) as http:
        unknown = http.get("/latest-checkpoint", params={"origin": "elsewhere.example/log"})
        assert unknown.status_code == 404


def test_the_wire_format(served: tuple[Log, Witness, str]) -> None:
    log, _, url = served
    with httpx.Client(base_url=url) as http:
        ok = http.post("/add-checkpoint", content=log.request(0))
        assert ok.status_code == 200
        assert ok.text.startswith("— witness.agency.example/audit ")
        assert ok.text.endswith("\n")
        stale = http.post("/add-checkpoint", content=log.request(0))
        assert (stale.status_code, stale.text) == (409, "6\n")
        assert stale.headers["content-type"] == "text/x.tlog.size"
        assert http.post("/add-checkpoint", content=b"old 0\n").status_code == 400
        assert http.post("/add-checkpoint", content=log.request(6, 3)).status_code == 400
        too_big = http.post("/add-checkpoint", content=b"x" * 8_193)
        assert too_big.status_code == 413
        assert http.get("/add-checkpoint").status_code == 405
        assert http.post("/other").status_code == 404


def test_concurrent_submissions_from_one_size_admit_one(served: tuple[Log, Witness, str]) -> None:
    log, witness, url = served
    with httpx.Client(base_url=url) as http:
        assert http.post("/add-checkpoint", content=log.request(0)).status_code == 200
    log.grow(20)
    bodies = [log.request(6, size) for size in range(7, 15)]
    statuses: list[int] = []
    start = threading.Barrier(len(bodies))

    def submit(body: bytes) -> None:
        with httpx.Client(base_url=url) as http:
            start.wait()
            statuses.append(http.post("/add-checkpoint", content=body).status_code)

    threads = [threading.Thread(target=submit, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200] + [409] * (len(bodies) - 1)
    size, root = witness.latest(log.origin)
    assert 7 <= size <= 14
    assert root == log.tree.root(size)


def test_a_witness_that_is_down_is_unavailable(tmp_path: Path) -> None:
    log = new_log().grow(3)
    witness = new_witness(tmp_path, log)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        endpoint = _endpoint(witness, f"http://127.0.0.1:{port}")
        with pytest.raises(WitnessUnavailable):
            asyncio.run(_cosign(endpoint, log, 0, 3))


def test_a_witness_endpoint_needs_a_cosignature_key(tmp_path: Path) -> None:
    log = new_log()
    with pytest.raises(ValueError, match="not a cosignature key"):
        WitnessEndpoint.parse("https://w.example", log.signer.verifier().vkey())
    witness = new_witness(tmp_path, log)
    with pytest.raises(ValueError, match="not an http"):
        WitnessEndpoint.parse("w.example", witness.signer.verifier().vkey())
