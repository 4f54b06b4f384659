"""Strict mode (`HUB_AUDIT_WITNESS_BEFORE_ANSWER`): a response that discloses data leaves
only once a witness — its own process, reached over HTTP — has cosigned a checkpoint
covering its record; with the witness down it is a 503 and nothing is disclosed, while
responses that disclose nothing are answered as before. The real audit middleware and
store, in front of an endpoint that discloses one worker."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from audit_support import HASHER, ORIGIN, chain_settings, served_witness
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from audit.middleware import AuditMiddleware
from audit.record import AuditTrail
from audit.settings import WitnessSetting
from audit.store import AuditStore, cosignature_t
from conftest import serving
from hub.settings import HubSettings
from hub.wiring import build_audit_store, load_checkpoint_signer
from storage import migrate


async def _disclose(request: Request) -> JSONResponse:
    trail = request.scope["audit"]
    assert isinstance(trail, AuditTrail)
    trail.disclosures.entities.add(("Worker", "410183199003150011"))
    trail.disclosures.fields[("Worker", "name")] = ("worker:read",)
    return JSONResponse({"name": "张三"})


async def _nothing(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


@contextlib.contextmanager
def _strict_hub(settings: HubSettings) -> Iterator[tuple[str, AuditStore]]:
    store = build_audit_store(settings)
    migrate.upgrade([store])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await store.close()

    app = Starlette(
        routes=[
            Route("/disclose", _disclose, methods=["POST"]),
            Route("/nothing", _nothing, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    with serving(AuditMiddleware(app, store, HASHER)) as url:
        yield url, store


def _strict(settings: HubSettings, witness: WitnessSetting) -> HubSettings:
    policy = settings.audit.model_copy(
        update={
            "witnesses": (witness,),
            "witness_before_answer": True,
            "witness_timeout_seconds": 1.5,
            "checkpoint_seconds": 3600.0,  # only strict mode's own checkpoints
        }
    )
    return settings.model_copy(update={"audit": policy})


def _cosignatures(store: AuditStore) -> int:
    engine = store.database.sync_engine()
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(cosignature_t)).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_disclosure_waits_for_its_cosignature(backend: str, tmp_path: Path) -> None:
    settings = chain_settings(backend, tmp_path, "hub_strict", every=1_000)
    log_vkey = load_checkpoint_signer(settings).verifier().vkey()
    with served_witness(tmp_path / "witness", "witness.strict.test/audit", log_vkey) as witness:
        strict = _strict(settings, witness.setting)
        with _strict_hub(strict) as (url, store):
            for _ in range(3):
                response = httpx.post(f"{url}/disclose", timeout=10)
                assert response.status_code == 200, response.text
                assert response.json() == {"name": "张三"}
            size, _ = witness.witness.latest(ORIGIN)
            assert size >= 3  # every answered disclosure is in a tree the witness cosigned
            assert _cosignatures(store) >= 1


def test_with_the_witness_down_nothing_is_disclosed(tmp_path: Path) -> None:
    settings = chain_settings("sqlite", tmp_path, "unused", every=1_000)
    log_vkey = load_checkpoint_signer(settings).verifier().vkey()
    with served_witness(tmp_path / "witness", "witness.strict.test/audit", log_vkey) as witness:
        configured = witness.setting
    # the witness has stopped: its port refuses connections
    strict = _strict(settings, configured)
    with _strict_hub(strict) as (url, _):
        refused = httpx.post(f"{url}/disclose", timeout=10)
        assert refused.status_code == 503
        assert refused.json()["error"] == "audit_unavailable"
        assert "张三" not in refused.text
        assert refused.headers["x-request-id"]
        assert httpx.post(f"{url}/nothing", timeout=10).status_code == 200
