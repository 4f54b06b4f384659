"""Agencies' data in and out through the hub: which tables each agency can load, the other
agencies' databases its references are checked against, and the audit records every
import leaves. The command line (`hub import`, `hub export`) and the HTTP endpoint
(`POST /ingest/<agency>/<table>`) both go through `Importer` to `ingest.engine`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, TypeVar

from audit.record import SubjectHasher
from audit.store import AuditStore, Entry
from audit.writes import Write, write_entries
from connectors.base import Connector
from connectors.local import LocalTransport
from ingest.engine import Entities, ImportOptions, ImportResult, run_import
from ingest.exporting import export_table
from ingest.formats import ExportFormat
from ingest.targets import AgencyTables, Importable
from kernel.metrics import IMPORT_DURATION, IMPORT_ROWS, IMPORTS
from storage.database import Database

SUBMISSION_PURPOSE: Final = "data-submission"
"""The purpose an import is recorded under when its sender gives none (the command line)."""
RECORDS_PER_APPEND: Final = 4
"""Audit records handed to the writer at once (each holds up to 5,000 entities, a few MiB
on the way in: a group of 20 held about 100 MiB more in a million-row import)."""

T = TypeVar("T")
Submit = Callable[[Coroutine[Any, Any, T]], T]
"""Runs a coroutine to its end from the importing thread: `asyncio.run` at the command
line, the serving loop's `run_coroutine_threadsafe(...).result()` under HTTP."""


def agency_tables(connector: Connector | type[Connector]) -> AgencyTables | None:
    """The agency's importable tables (`importable`, from its `tables` module), or None
    if it declares none."""
    found = getattr(connector, "importable", None)
    return found if isinstance(found, AgencyTables) else None


def changed_rows(result: ImportResult) -> bool:
    """An import that changed rows (a resend that changes nothing changes no answer)."""
    return result.applied and bool(result.inserted or result.updated)


class UnknownTable(LookupError):
    """No such agency, or the agency has no such importable table."""


@dataclass(frozen=True)
class Sender:
    """Who sends an import, as the batch registry and the audit log name them."""

    submitted_by: str
    client_id: str | None
    purpose: str = SUBMISSION_PURPOSE
    purpose_reference: str | None = None
    channel: str = "cli"
    request_id: str | None = None


class Importer:
    """The hub's agencies, ready to take files and give them back."""

    def __init__(
        self,
        connectors: Sequence[Connector],
        audit_store: AuditStore | None = None,
        hasher: SubjectHasher | None = None,
        refresh_facts: Callable[[], Coroutine[Any, Any, object]] | None = None,
    ) -> None:
        """`refresh_facts`: what brings the warning facts up to date after an import that
        changed rows (run by `submit`, or on a loop of its own)."""
        self.connectors = {c.name: c for c in connectors if isinstance(c.transport, LocalTransport)}
        self.tables = {
            name: tables
            for name, connector in self.connectors.items()
            if (tables := agency_tables(connector)) is not None
        }
        self.audit_store = audit_store
        self.hasher = hasher
        self.refresh_facts = refresh_facts

    def target(self, agency: str, table: str) -> tuple[AgencyTables, Importable]:
        tables = self.tables.get(agency)
        if tables is None:
            known = ", ".join(sorted(self.tables)) or "none"
            raise UnknownTable(f"no agency {agency!r} takes imports here; agencies: {known}")
        found = tables.get(table)
        if found is None:
            raise UnknownTable(
                f"{agency} has no importable table {table!r}; its tables: {', '.join(tables.names)}"
            )
        return tables, found

    def database(self, agency: str) -> Database:
        return self.connectors[agency].database

    def lookups(self, agency: str) -> dict[str, Database]:
        """The other agencies' databases, for warnings about records they lack."""
        return {name: c.database for name, c in self.connectors.items() if name != agency}

    def run(
        self,
        agency: str,
        table: str,
        source: Path,
        options: ImportOptions,
        sender: Sender,
        submit: Submit[Any] | None = None,
        *,
        refresh: bool = True,
    ) -> ImportResult:
        """One import, audited before it commits when the hub has an audit log (`submit`
        then runs the audit store's coroutines). `refresh`: the warning facts brought up
        to date after it if it changed rows; a caller applying several imports as one
        (a national call's tables) passes False and calls `refresh` once after them."""
        tables, target = self.target(agency, table)
        hook = keys = None
        if self.audit_store is not None:
            if submit is None:
                raise ValueError("an audited import needs `submit`")
            hook = self._audit_hook(tables, sender, submit)
            keys = self.hasher.entity_keys() if self.hasher is not None else None
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = run_import(
                target,
                self.database(agency),
                source,
                options,
                batches=tables.batches,
                lookups=self.lookups(agency),
                before_commit=hook,
                entity_keys=keys,
            )
            outcome = result.outcome
            self.connectors[agency].as_of_kept.forget()  # what it applied counts at once
            IMPORT_ROWS.labels(agency, target.name).inc(result.report.rows_read)
        finally:
            IMPORTS.labels(agency, target.name, sender.channel, outcome).inc()
            IMPORT_DURATION.labels(agency, target.name).observe(time.perf_counter() - started)
        if refresh and changed_rows(result):
            self.refresh(submit)
        return result

    def refresh(self, submit: Submit[Any] | None = None) -> None:
        """The warning facts brought up to date with every import applied so far (one
        refresh reads every batch since the last: `graph.facts.refresh_changed`)."""
        if self.refresh_facts is not None:
            (submit or asyncio.run)(self.refresh_facts())

    def _audit_hook(
        self, tables: AgencyTables, sender: Sender, submit: Submit[Any]
    ) -> Callable[[ImportResult, Entities], None]:
        store = self.audit_store
        assert store is not None
        assert self.hasher is not None  # the engine stages the hashed keys with it

        def record(result: ImportResult, entities: Entities) -> None:
            report = result.report
            assert result.batch_id is not None
            write = Write(
                agency=tables.agency,
                table=result.target.name,
                scope=tables.scope,
                batch_id=result.batch_id,
                sha256=report.sha256,
                counts={
                    "read": report.rows_read,
                    "inserted": result.inserted,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "rejected": report.rows_rejected,
                },
                client_id=sender.client_id,
                purpose=sender.purpose,
                purpose_reference=sender.purpose_reference,
                channel=sender.channel,
                request_id=sender.request_id or uuid.uuid4().hex,
            )
            submit(append_all(store, write_entries(write, entities())))

        return record

    def export(
        self,
        agency: str,
        table: str,
        out: IO[bytes],
        format: ExportFormat = "csv",
        encoding: str = "utf-8-sig",
    ) -> int:
        _, target = self.target(agency, table)
        return export_table(target, self.database(agency), out, format, encoding)


async def append_all(store: AuditStore, entries: Iterable[Entry]) -> None:
    """Every record committed, a group at a time (bounded memory for huge imports)."""
    iterator = iter(entries)
    while group := list(itertools.islice(iterator, RECORDS_PER_APPEND)):
        await asyncio.gather(*(store.append(entry) for entry in group))


def run_closing(store: AuditStore, *others: Database) -> Submit[Any]:
    """`Submit` for a process with no running loop (the command line): each call runs
    on a fresh loop and, before the loop ends, stops the store's writer and closes what it
    opened on the way (`others`: the auth store's database, which signs checkpoints)."""

    def submit(coroutine: Coroutine[Any, Any, T]) -> T:
        async def run() -> T:
            try:
                return await coroutine
            finally:
                await store.close()
                for database in others:
                    await database.dispose()

        return asyncio.run(run())

    return submit
