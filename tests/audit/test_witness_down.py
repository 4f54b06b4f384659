"""A witness that is down costs the log nothing but its cosignatures: every record is
still written (and every request answered), `hub audit verify` says the log is
incomplete and which witness could not be asked, and once the witness is back the
cosigner catches up and the log verifies — through the store, and through the hub."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from audit_support import ORIGIN, Chain, chain_settings, entry
from sqlalchemy import select

from audit.format import log_verifier
from audit.note import CosignatureSigner
from audit.operations import AuditLog, witness_views
from audit.settings import WitnessSetting
from audit.store import head_t, witness_t
from audit.witness import Witness, WitnessedLog
from audit.witness_app import create_witness_app
from auth.store import Grant
from conftest import TEST_PURPOSE, ClientCredentials, _free_port, migrated_settings, serving
from hub.app import create_app
from hub.settings import HubSettings
from hub.wiring import (
    audit_database,
    audit_trust,
    build_audit_store,
    load_checkpoint_signer,
    witness_endpoints,
)
from kernel.scopes import vocabulary
from storage import migrate
from storage.keys import create_key_file

WITNESS = "witness.down.test/audit"


def _absent_witness(settings: HubSettings, directory: Path) -> tuple[HubSettings, Witness, int]:
    """Settings naming a witness on a port where nothing listens yet, and that witness."""
    log_vkey = load_checkpoint_signer(settings).verifier().vkey()
    witness = Witness(
        directory / "state.sqlite",
        CosignatureSigner(WITNESS, create_key_file(directory / "w.key")),
        [WitnessedLog(settings.audit.origin, (log_verifier(log_vkey),))],
    )
    port = _free_port()
    configured = WitnessSetting(
        url=f"http://127.0.0.1:{port}", vkey=witness.signer.verifier().vkey()
    )
    policy = settings.audit.model_copy(update={"witnesses": (configured,)})
    return settings.model_copy(update={"audit": policy}), witness, port


def _verify(settings: HubSettings) -> tuple[int, str]:
    """As `hub audit verify` does it: the witnesses first, then the database."""
    views = asyncio.run(witness_views(witness_endpoints(settings), settings.audit.origin, 2))
    report = AuditLog(audit_database(settings), audit_trust(settings)).verify(views)
    return report.exit_code, report.summary()


def _witness_state(settings: HubSettings) -> tuple[int | None, str | None, int]:
    """(the size the cosigner knows the witness at, its last error, the log's size)."""
    engine = audit_database(settings).sync_engine()
    try:
        with engine.connect() as connection:
            state = connection.execute(select(witness_t)).one()
            size = connection.execute(select(head_t.c.seq)).scalar_one()
    finally:
        engine.dispose()
    return state.size, state.last_error, size


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_writes_continue_while_the_witness_is_down(backend: str, tmp_path: Path) -> None:
    settings, witness, port = _absent_witness(
        chain_settings(backend, tmp_path, "hub_witness_down"), tmp_path / "witness"
    )
    store = build_audit_store(settings)  # with its own background cosigner
    assert store.cosigner is not None
    migrate.upgrade([store])

    async def write() -> list[int]:
        try:
            return [await store.append(entry(datetime.now(UTC), i)) for i in range(12)]
        finally:
            await store.close()  # signs the tail, offers it once more: refused connection

    assert asyncio.run(asyncio.wait_for(write(), 120)) == list(range(1, 13))
    size, error, _ = _witness_state(settings)
    assert size is None
    assert error is not None
    assert WITNESS in error

    code, summary = _verify(settings)
    assert code == 2, summary
    assert summary.startswith("INCOMPLETE: 12 records")
    assert f"witness {WITNESS} could not be asked" in summary

    with serving(create_witness_app(witness), port=port):
        assert Chain(store, settings).cosign() == {WITNESS: "cosigned 12"}
        code, summary = _verify(settings)
    assert code == 0, summary
    assert f"witnessed: {WITNESS} at 12" in summary


def test_the_hub_answers_while_its_witness_is_down_and_catches_up(tmp_path: Path) -> None:
    settings, witness, port = _absent_witness(
        # copies of the SQLite databases this test process migrated once
        migrated_settings("sqlite", tmp_path, "witness_down").model_copy(
            update={
                "audit": HubSettings().audit.model_copy(
                    update={"origin": ORIGIN, "checkpoint_seconds": 0.05}
                )
            }
        ),
        tmp_path / "witness",
    )
    app = create_app(settings)
    auth = app.state.auth_store
    secret = auth.add_client("asker", Grant("test", vocabulary(), (TEST_PURPOSE,)))
    with (
        serving(app) as url,
        httpx.Client(
            base_url=url,
            auth=ClientCredentials("asker", secret),
            headers={"X-Purpose": TEST_PURPOSE},
        ) as client,
    ):
        for _ in range(10):
            response = client.post("/graphql", json={"query": "{ __typename }"})
            assert response.status_code == 200
        code, summary = _verify(settings)
        assert code == 2, summary
        assert f"witness {WITNESS} could not be asked" in summary

        with serving(create_witness_app(witness), port=port):
            # the hub's own cosigner retries with backoff (1 s, 2 s, …) and catches up
            deadline = time.monotonic() + 30
            while True:
                client.post("/graphql", json={"query": "{ __typename }"})
                size, _, _ = _witness_state(settings)
                if size is not None and size > 10:
                    break
                assert time.monotonic() < deadline, "the cosigner did not catch up"
                time.sleep(0.2)
            code, summary = _verify(settings)
        assert code == 0, summary  # records since the last cosignature are within grace
        assert f"{WITNESS} at" in summary
