"""A real audit store on a fresh database (SQLite file or PostgreSQL database) with its own
checkpoint key, filled through the real writer; witnesses served over real HTTP; and the
insider's tools: rewriting records and their tree with plain SQL."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from audit.cosigner import Cosigner
from audit.format import canonical, log_verifier, record_leaf, sign_tree_head
from audit.merkle import Frontier
from audit.note import CosignatureSigner
from audit.operations import AuditLog, witness_views
from audit.record import SubjectHasher
from audit.settings import AuditSettings, WitnessSetting
from audit.store import AuditStore, Entry
from audit.verify import Report
from audit.witness import Witness, WitnessedLog
from audit.witness_app import create_witness_app
from conftest import backend_settings, serving
from hub.settings import HubSettings
from hub.wiring import audit_trust, build_audit_store, load_checkpoint_signer, witness_endpoints
from storage import migrate
from storage.keys import create_key_file, load_key_file

HASHER = SubjectHasher(b"audit-tests-key-0123456789abcdef")
WORKER = "410183199003150011"
ORIGIN = "audit.hub.test/henan"


def entry(at: datetime, number: int) -> Entry:
    entities = sorted({("Worker", HASHER(WORKER)), ("Project", f"P{number:04d}")})
    content = {
        "v": 1,
        "at": at.isoformat(),
        "request_id": f"{number:032x}",
        "endpoint": "/graphql",
        "client_id": "police-xinmi",
        "agency": "public_security",
        "purpose": "residence-management",
        "purpose_reference": None,
        "operations": [],
        "fields": ["Worker.residences"],
        "scopes": ["worker:residence"],
        "masked": [],
        "denied": [],
        "entities": [list(e) for e in entities],
        "outcome": "ok",
        "codes": [],
        "status": 200,
        "response_bytes": 100,
        "latency_ms": 1.0,
    }
    return Entry(content, entities)


@dataclass
class ServedWitness:
    """A witness of another party: its own directory, key, state and HTTP server."""

    witness: Witness
    url: str

    @property
    def name(self) -> str:
        return self.witness.signer.name

    @property
    def setting(self) -> WitnessSetting:
        return WitnessSetting(url=self.url, vkey=self.witness.signer.verifier().vkey())


@contextmanager
def served_witness(directory: Path, name: str, log_vkey: str) -> Iterator[ServedWitness]:
    """Its key and state kept when `directory` holds them (a copied witness)."""
    path = directory / "witness.key"
    key = load_key_file(path) if path.exists() else create_key_file(path)
    witness = Witness(
        directory / "state.sqlite",
        CosignatureSigner(name, key),
        [WitnessedLog(ORIGIN, (log_verifier(log_vkey),))],
    )
    with serving(create_witness_app(witness)) as url:
        yield ServedWitness(witness, url)


@dataclass
class Chain:
    audit: AuditStore
    settings: HubSettings
    witnesses: list[ServedWitness] = field(default_factory=list)

    def log(self) -> AuditLog:
        return AuditLog(self.audit.database, audit_trust(self.settings, self.audit.signer))

    def engine(self) -> Engine:
        return self.audit.database.sync_engine()

    def rows(self, queries: Mapping[str, str]) -> dict[str, list[tuple[Any, ...]]]:
        """Each query's rows by its name (two chains' tables compared)."""
        engine = self.engine()
        try:
            with engine.connect() as connection:
                return {
                    name: [tuple(row) for row in connection.execute(text(sql))]
                    for name, sql in queries.items()
                }
        finally:
            engine.dispose()

    def append(
        self, count: int, *, start: datetime | None = None, cosign_every: int | None = None
    ) -> list[int]:
        """`count` records, a minute apart from `start`, one after another (so checkpoints
        fall every `every` records); with `cosign_every`, a cosigning round after every so
        many records (deterministic: the store's own cosigner is not running)."""
        start = start or datetime(2026, 11, 1, tzinfo=UTC)

        async def run() -> list[int]:
            cosigner = self.cosigner()
            try:
                appended = []
                for i in range(count):
                    appended.append(await self.audit.append(entry(start + timedelta(minutes=i), i)))
                    if cosign_every and cosigner and len(appended) % cosign_every == 0:
                        await cosigner.run_once()
                return appended
            finally:
                await self.audit.close()
                if cosigner:
                    await cosigner.close()

        return asyncio.run(run())

    def cosigner(self) -> Cosigner | None:
        endpoints = witness_endpoints(self.settings)
        return Cosigner(self.audit.database, endpoints, timeout_seconds=2) if endpoints else None

    def cosign(self) -> dict[str, str]:
        cosigner = self.cosigner()
        assert cosigner is not None

        async def run() -> dict[str, str]:
            try:
                return await cosigner.run_once(now=True)
            finally:
                await cosigner.close()

        return asyncio.run(run())

    def verify(self, *, offline: bool = False) -> Report:
        """As `hub audit verify` does: the witnesses asked first, then the database."""
        views = None
        if not offline:
            views = asyncio.run(witness_views(witness_endpoints(self.settings), ORIGIN, 2))
        return self.log().verify(views)


def chain_settings(
    backend: str,
    tmp: Path,
    prefix: str,
    every: int = 5,
    targets: Collection[str] | None = None,
    **audit: Any,
) -> HubSettings:
    """`targets`: only their PostgreSQL databases made (see `backend_settings`)."""
    settings = backend_settings(backend, tmp, prefix, targets=targets)
    policy = AuditSettings(origin=ORIGIN, checkpoint_every=every, checkpoint_seconds=3600, **audit)
    return settings.model_copy(update={"audit": policy})


@contextmanager
def fresh_chain(
    backend: str,
    tmp: Path,
    prefix: str,
    every: int = 5,
    *,
    witnesses: int = 0,
    cosigning: bool = False,
) -> Iterator[Chain]:
    """A migrated, empty log; with `witnesses`, that many served and configured. The
    store's own background cosigner runs only when `cosigning`. On PostgreSQL, the audit
    log's database alone is made: nothing here touches another (making and dropping the
    other dozen took each chain about a second of the server's time)."""
    settings = chain_settings(backend, tmp, prefix, every, targets=[AuditStore.name])
    log_vkey = load_checkpoint_signer(settings).verifier().vkey()
    with ExitStack() as stack:
        served = [
            stack.enter_context(
                served_witness(tmp / f"witness-{i}", f"witness-{i}.agency.test/audit", log_vkey)
            )
            for i in range(witnesses)
        ]
        if served:
            policy = settings.audit.model_copy(
                update={"witnesses": tuple(w.setting for w in served)}
            )
            settings = settings.model_copy(update={"audit": policy})
        audit = build_audit_store(settings)
        if not cosigning:
            audit.cosigner = None
        migrate.upgrade([audit])
        yield Chain(audit, settings, served)


@contextmanager
def copied_chain(built: Chain, tmp: Path, prefix: str) -> Iterator[Chain]:
    """A copy of `built` (its store closed) for a test that changes it: its data directory
    (the log's key; on SQLite, the database), on PostgreSQL its database, and its
    witnesses' keys and states, each served anew. Migrating, filling and cosigning a log
    for each such test took it 0.3 s and more."""
    data = Path(shutil.copytree(built.settings.data_dir, tmp / "chain"))  # modes kept
    backend = "postgres" if built.settings.db_urls else "sqlite"
    settings = backend_settings(
        backend, data, prefix, templates=built.settings.db_urls, targets=[AuditStore.name]
    ).model_copy(update={"audit": built.settings.audit})
    log_vkey = load_checkpoint_signer(settings).verifier().vkey()
    with ExitStack() as stack:
        served = []
        for witness in built.witnesses:
            state = witness.witness.state.parent
            copied = Path(shutil.copytree(state, tmp / state.name))
            served.append(stack.enter_context(served_witness(copied, witness.name, log_vkey)))
        policy = built.settings.audit.model_copy(
            update={"witnesses": tuple(w.setting for w in served)}
        )
        settings = settings.model_copy(update={"audit": policy})
        audit = build_audit_store(settings)
        audit.cosigner = None
        yield Chain(audit, settings, served)


# -- the insider's tools: plain SQL, and the log's own key where it was stolen ------------


def payload(connection: Connection, seq: int) -> dict[str, Any]:
    raw = connection.execute(text("SELECT payload FROM audit_record WHERE seq = :s"), {"s": seq})
    return dict(json.loads(raw.scalar_one()))


def set_payload(connection: Connection, seq: int, content: dict[str, Any]) -> None:
    connection.execute(
        text("UPDATE audit_record SET payload = :p WHERE seq = :s"),
        {"p": canonical(content), "s": seq},
    )


def retree(connection: Connection) -> Frontier:
    """Recomputes every record's tree hashes from the payloads as they now are, and moves
    the head to the result: what an insider does after changing records."""
    frontier = Frontier()
    rows = connection.execute(text("SELECT seq, payload FROM audit_record ORDER BY seq")).all()
    for row in rows:
        frontier, completed = frontier.append(record_leaf(row.payload))
        connection.execute(
            text("UPDATE audit_record SET tree_hashes = :h WHERE seq = :s"),
            {"h": b"".join(completed), "s": row.seq},
        )
    connection.execute(
        text("UPDATE audit_head SET seq = :n, frontier = :f"),
        {"n": frontier.size, "f": frontier.serialize()},
    )
    return frontier


def resign_checkpoints(connection: Connection, chain: Chain) -> None:
    """With the stolen checkpoint key: every checkpoint signed again over the tree as it
    now is."""
    frontier = Frontier()
    sizes = set(connection.execute(text("SELECT size FROM audit_checkpoint")).scalars())
    rows = connection.execute(text("SELECT seq, payload FROM audit_record ORDER BY seq")).all()
    for row in rows:
        frontier, _ = frontier.append(record_leaf(row.payload))
        if row.seq in sizes:
            note = sign_tree_head(chain.audit.signer, ORIGIN, frontier)
            connection.execute(
                text("UPDATE audit_checkpoint SET root = :r, note = :n WHERE size = :s"),
                {"r": frontier.root(), "n": note.serialize().decode(), "s": row.seq},
            )


def tamper(chain: Chain, change: Any) -> None:
    engine = chain.engine()
    try:
        with engine.begin() as connection:
            change(connection)
    finally:
        engine.dispose()
