"""Private, migrated stores for import tests (SQLite, and PostgreSQL when configured), the
rows to load into them, and a way to see every row they hold (to prove nothing changed)."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sqlite3
from collections.abc import Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.engine import make_url

from audit.record import SubjectHasher
from audit.settings import AuditSettings
from audit.store import AuditStore
from auth.errors import ClientExists
from auth.store import AuthStore, Grant
from conftest import (
    TEST_CLIENT,
    TEST_PURPOSE,
    ClientCredentials,
    RunningHub,
    StatementCounter,
    migrated_settings,
    serving,
)
from connectors.base import Connector
from graph.facts.store import FactsStore
from hub import seeding
from hub.app import create_app
from hub.cli import main as hub_main
from hub.demo import register_demo_clients
from hub.facts import refresh_after_import, refresh_now
from hub.importing import Importer, Sender, run_closing
from hub.settings import HubSettings
from hub.wiring import (
    build_audit_store,
    build_auth_store,
    build_connectors,
    build_facts_store,
    build_subject_hasher,
    loader_factories,
)
from ingest.engine import ImportOptions, ImportResult
from ingest.tables import TableSpec
from ingest.targets import Importable
from ingest.validate import TypedRow
from ingest.writers import write_csv, write_jsonl, write_xlsx
from kernel.identifiers import make_id_number, make_uscc
from kernel.scopes import vocabulary
from synthetic.stories import Stories

WORKERS = [
    make_id_number("410183", datetime.date(1985, 1 + i, 1 + i), 11 + 2 * i) for i in range(5)
]
USCC = make_uscc("410183", 7)
PROJECT = "410183202503171901"
ACCOUNT = "41410183202503171901"
CARD = "6217000000990000006"
OPERATOR = Sender(submitted_by="tester@test", client_id="cli:tester@test")


@dataclass
class Stores:
    backend: str
    settings: HubSettings
    connectors: dict[str, Connector]
    auth: AuthStore
    audit: AuditStore
    hasher: SubjectHasher
    facts: FactsStore

    @property
    def importer(self) -> Importer:
        connectors = list(self.connectors.values())

        def refresh_facts() -> Coroutine[Any, Any, object]:
            return refresh_after_import(
                self.facts, loader_factories(connectors), connectors, closing=True
            )

        return Importer(connectors, self.audit, self.hasher, refresh_facts=refresh_facts)

    def run(
        self,
        agency: str,
        table: str,
        path: Path,
        sender: Sender = OPERATOR,
        *,
        refresh: bool = True,
        **options: Any,
    ) -> ImportResult:
        """`refresh`: as `Importer.run`'s (False: the caller refreshes once after several)."""
        return self.importer.run(
            agency,
            table,
            path,
            ImportOptions(**options),
            sender,
            run_closing(self.audit, self.auth.database),
            refresh=refresh,
        )

    # `clear` and `rows` use each database's one-off engine (a connection per use, as the
    # imports' own), not an engine made and disposed for each call: its dialect set up and
    # its statements compiled once (rows() of the demo world 51-98 -> 36-41 CPU ms, of an
    # empty agency 5-7 -> 1-3; clear() 14-19 -> 10-16).

    def clear(self) -> None:
        for connector in self.connectors.values():
            with connector.database.one_off_engine().begin() as connection:
                for table in reversed(connector.metadata.sorted_tables):
                    connection.execute(delete(table))

    def rows(self, agency: str | None = None) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table (batch registries included), sorted: equal before and
        after means nothing changed."""
        found = {}
        for name, connector in self.connectors.items():
            if agency is not None and name != agency:
                continue
            with connector.database.one_off_engine().connect() as connection:
                for table in connector.metadata.sorted_tables:
                    found[table.name] = sorted(
                        (tuple(row) for row in connection.execute(select(table))),
                        key=row_order,
                    )
        return found

    def seed(self, scale: str = "demo") -> None:
        """As `hub seed` does: the rows, then the warning facts."""
        seeding.seed(list(self.connectors.values()), scale, 42)
        refresh_now(self.facts, list(self.connectors.values()))


def row_order(row: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    """Rows in their values' own order (ids 9 before 10, as `[-1]` means the newest), None
    last; a value without an order (a JSON document) by its text."""
    return tuple(
        (True, 0) if value is None
        else (False, value) if isinstance(value, int | float | Decimal | str | bytes | datetime.date)
        else (False, repr(value))
        for value in row
    )  # fmt: skip


STORES_AUDIT = AuditSettings(hash_key="k" * 32)


def make_stores(backend: str, tmp: Path, prefix: str, seeded: str | None = None) -> Stores:
    """Every store of a hub over its own fresh, migrated databases; `seeded`: holding that
    scale's world and its warning facts, as after `Stores.seed` (copied, not seeded again)."""
    settings = migrated_settings(backend, tmp, prefix, seeded, audit=STORES_AUDIT)
    auth = build_auth_store(settings)
    audit = build_audit_store(settings, auth)
    connectors = build_connectors(settings)
    facts = build_facts_store(settings)
    auth.ensure_signing_key()
    return Stores(
        backend, settings, {c.name: c for c in connectors}, auth, audit,
        build_subject_hasher(settings), facts,
    )  # fmt: skip


def write(
    path: Path, spec: TableSpec, rows: Iterable[TypedRow], encoding: str = "utf-8-sig"
) -> Path:
    """Rows as the agency's file: by the path's suffix, CSV (in `encoding`), XLSX or JSONL."""
    if path.suffix == ".xlsx":
        write_xlsx(path, spec, rows)
    else:
        with path.open("wb") as out:
            if path.suffix == ".jsonl":
                write_jsonl(out, spec, rows)
            else:
                write_csv(out, spec, rows, encoding)
    return path


def account_row(account: str = ACCOUNT, project: str = PROJECT) -> TypedRow:
    return (account, "中国建设银行", project, USCC, datetime.date(2025, 3, 20), "active")


def pay_row(
    worker: str = WORKERS[0],
    month: datetime.date = datetime.date(2026, 9, 1),
    amount: int = 700_000,
    *,
    back_pay_month: datetime.date | None = None,
    account: str = ACCOUNT,
    status: str = "paid",
) -> TypedRow:
    return (
        account, PROJECT, "张三", worker, CARD, month, month.replace(day=28), 800_000, amount,
        status, 22, back_pay_month is not None, back_pay_month, None,
    )  # fmt: skip


@contextlib.contextmanager
def running_hub(stores: Stores, **overrides: Any) -> Iterator[RunningHub]:
    """The stores served by a real uvicorn, asked as `test-all-access`; every demo client
    is registered too (`hub.secrets`)."""
    settings = stores.settings.model_copy(update=overrides)
    app = create_app(settings)
    secrets = register_demo_clients(stores.auth)
    with contextlib.suppress(ClientExists):
        secrets[TEST_CLIENT] = stores.auth.add_client(
            TEST_CLIENT, Grant(agency="test", scopes=vocabulary(), purposes=(TEST_PURPOSE,))
        )
    secret = secrets.get(TEST_CLIENT) or stores.auth.rotate_secret(TEST_CLIENT)
    secrets[TEST_CLIENT] = secret
    statements = StatementCounter()
    with (
        serving(app) as base,
        httpx.Client(
            base_url=base,
            timeout=30,
            auth=ClientCredentials(TEST_CLIENT, secret),
            headers={"X-Purpose": TEST_PURPOSE},
        ) as client,
    ):
        hub = RunningHub(
            stores.backend, base, app.state.connectors, statements, client, stores.auth,
            secrets, settings,
        )  # fmt: skip
        yield hub
        hub.close()


def same_rows(before: dict[str, Sequence[Any]], after: dict[str, Sequence[Any]]) -> bool:
    return before == after


def hub_environment(stores: Stores) -> dict[str, str]:
    """The environment a `hub` command run in a subprocess needs to find these stores."""
    settings = stores.settings
    env = {**os.environ, "HUB_DATA_DIR": str(settings.data_dir), "HUB_AUDIT_HASH_KEY": "k" * 32}
    for name, url in settings.db_urls.items():
        env[f"HUB_{name.upper()}_DB_URL"] = url
    return env


def hub_command(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    environment: dict[str, str],
    *argv: str,
) -> str:
    """`hub <argv>` run in this process with only `environment`'s HUB_ settings (those of
    the test's processes left unset); what it printed. For the set-up a test's `hub serve`
    needs (migrate, a client): a process of its own would spend seconds importing the hub."""
    for name in list(os.environ):
        if name.startswith("HUB_") and not name.startswith("HUB_TEST_"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = hub_main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, out + err
    return out


def audit_records(stores: Stores, request_id: str) -> list[dict[str, Any]]:
    """The audit log's records of one request (the id its response carried), in order."""
    engine = stores.audit.database.sync_engine()
    try:
        with engine.connect() as connection:
            found = connection.exec_driver_sql(
                "SELECT payload FROM audit_record WHERE request_id = %s ORDER BY seq"
                if stores.backend == "postgres"
                else "SELECT payload FROM audit_record WHERE request_id = ? ORDER BY seq",
                (request_id,),
            )
            return [json.loads(row[0]) for row in found]
    finally:
        engine.dispose()


def _url(stores: Stores, name: str) -> str:
    return stores.settings.database_url(name)


@contextlib.contextmanager
def audit_held(stores: Stores) -> Iterator[None]:
    """The audit log's write lock, held by this test."""
    url = make_url(_url(stores, "audit"))
    if stores.backend == "sqlite":
        connection = sqlite3.connect(url.database or "", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(False)) as held:
        held.execute("SELECT seq FROM audit_head FOR UPDATE")
        yield
        held.rollback()


def waiting_to_commit(stores: Stores) -> bool:
    """An import into the bank waits, its rows upserted, for the audit lock `audit_held`
    holds (SQLite: the bank database's write lock is taken; PostgreSQL: a backend waits on
    the audit head's row lock, in the locking path's claim or the one statement's)."""
    if stores.backend == "sqlite":
        bank = sqlite3.connect(make_url(_url(stores, "bank")).database or "", timeout=0)
        try:
            bank.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True  # the import's apply transaction holds it
        bank.execute("ROLLBACK")
        bank.close()
        return False
    url = make_url(_url(stores, "audit")).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(False)) as connection:
        found: Any = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
            " AND (query LIKE 'UPDATE audit_head%' OR query LIKE 'WITH moved AS (UPDATE audit_head%')"
        ).fetchone()
        return bool(found[0])


def one_row(stores: Stores, agency: str, sql: str, **parameters: Any) -> Any:
    """The one row a query finds in an agency's database."""
    engine = stores.connectors[agency].database.sync_engine()
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), parameters).one()
    finally:
        engine.dispose()


def stored_rows(stores: Stores, agency: str, target: Importable) -> list[dict[str, Any]]:
    """Every row of an importable table, by the file's column names."""
    engine = stores.connectors[agency].database.sync_engine()
    names = target.spec.column_names
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(target.table).order_by(*target.table.primary_key))
            return [dict(zip(names, target.typed_row()(r._mapping), strict=True)) for r in rows]
    finally:
        engine.dispose()


def import_rows(
    stores: Stores,
    tmp_path: Path,
    target: Importable,
    rows: Sequence[Any],
    as_of: datetime.date | None = None,
) -> ImportResult:
    """An import of `rows` (dicts by column name, or tuples) with no refresh of its own
    (the test refreshes or evaluates)."""
    importer = Importer(list(stores.connectors.values()), stores.audit, stores.hasher)
    names = target.spec.column_names
    typed = [tuple(r[n] for n in names) if isinstance(r, dict) else r for r in rows]
    path = write(tmp_path / f"{target.name}.csv", target.spec, typed)
    submit = run_closing(stores.audit, stores.auth.database)
    options = ImportOptions(as_of=as_of)
    result = importer.run(target.agency, target.name, path, options, OPERATOR, submit)
    assert result.applied, result.summary()
    return result


def arrears_pay_row(
    stores: Stores, story: Stories, worker: str, month: datetime.date, amount: int, **back: Any
) -> tuple[object, ...]:
    """A bank payroll row (`DISBURSEMENTS`) paying `worker` on the arrears project's
    account; `of=<month>` makes it back pay for that month."""
    account = one_row(
        stores, "bank", "SELECT account_no FROM bank_wage_account WHERE project_code = :code",
        code=story.arrears_project_code,
    )[0]  # fmt: skip
    card = one_row(
        stores,
        "bank",
        "SELECT card_no FROM bank_payroll_card WHERE worker_id_number = :id",
        id=worker,
    )[0]
    return (
        account, story.arrears_project_code, None, worker, card, month,
        month.replace(day=28), None, amount, "paid", None, bool(back), back.get("of"), None,
    )  # fmt: skip
