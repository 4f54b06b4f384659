"""The import engine: stream → validate → stage → check → apply, in one transaction.

    result = run_import(target, database, path, ImportOptions(submitted_by="bank-ccb"),
                        lookups={"housing": housing_db}, before_commit=audit)

`target` is an agency's `Importable` (`connectors/<agency>/tables.py`), `database` that
agency's database. What happens:

1. The file is read and every row checked (`ingest.validate`), in this process or, with
   `workers=1`, in a parsing process beside it; valid rows are staged in a temporary
   table as they come (`ingest.staging`). Memory stays bounded whatever the file size.
   Unless `accept_valid` (rows a check rejects must then be left out), the apply
   transaction is already open: the staged rows are upserted a chunk at a time
   (`ingest.staging.APPLY_ROWS`) while the parser reads on, and any error found later
   rolls it all back (steps 3 and 4).
2. References are checked on the staged rows with set-based queries: within the agency
   (an error: the row is not loaded) and, through `lookups`, in other agencies' databases
   (a warning: "worker not known to housing"), a thousand keys per query.
3. With any error and no `accept_valid`, nothing changes: the result is `refused` (and
   the batch registry says so). With `accept_valid`, rejected rows go to the rejects
   file and the rest load. A dry run does everything, applying included, then rolls back.
4. One transaction registers the batch, upserts the rows by their natural key, calls
   `before_commit(result, entities)` (the hub writes the audit record there: if it
   fails, nothing is written), and commits. `entities()` names each entity the written
   rows are about once, by its key as the audit log stores it (`entity_keys`: a keyed
   hash for a worker's ID number, computed as the rows are staged), sorted by that key.

The outcome is an `ImportResult`: the report (every problem with row, column, value and
reasons in English and Chinese, as CSV or JSON), the batch id, rows inserted, updated and
unchanged, the batch's as-of date and the phase timings. A file that cannot be read at
all gives a `refused` result whose report names why; only misuse (an unknown table, a
database that is not migrated) raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Final, Literal

from ingest.batches import APPLIED, REFUSED
from ingest.formats import Format
from ingest.parsing import Bound, Finished, ParseJob, parse, parse_in_worker
from ingest.rejects import RejectsWriter
from ingest.report import Issue, Report
from ingest.staging import KEYS_PER_LOOKUP, EntityKeys, Stage, open_stage, seconds_json
from ingest.targets import Importable, Reference
from ingest.values import CHINA_STANDARD_TIME, mask
from kernel.scalars import month_end
from storage.database import Database

Outcome = Literal["applied", "refused", "dry-run"]
DRY_RUN: Final = "dry-run"
WARNINGS_PER_REFERENCE: Final = 1_000
"""Missing keys in another agency listed one by one; beyond, one line counts the rest."""

Entities = Callable[[], Iterator[tuple[str, str]]]
"""(entity kind, key as the audit log stores it) of every entity the rows the import
inserted or changed are about, each once, kind by kind in key order."""


@dataclass(frozen=True)
class ImportOptions:
    """How to read the file and what to do with it."""

    format: Format | None = None
    encoding: str | None = None
    sheet: str | None = None
    name: str | None = None
    """The file's name as the sender knows it (reports, registry); the path's by default."""
    dry_run: bool = False
    accept_valid: bool = False
    rejects: Path | None = None
    """Where `accept_valid` writes the rows it did not load (CSV); none when unset."""
    as_of: date | None = None
    """The day through which the sender says its data is complete."""
    submitted_by: str = ""
    channel: str = "cli"
    workers: int = 0
    """1: parse in a separate process while this one writes (large files)."""
    register_refusal: bool = True
    """False: a refused import leaves the batch registry as it was, as a dry run does (the
    national runner's first table of a call, whose import is also its check)."""


@dataclass
class ImportResult:
    target: Importable
    report: Report
    outcome: Outcome
    batch_id: int | None = None
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    as_of: date | None = None
    rejects: Path | None = None
    submitted_by: str = ""
    channel: str = ""
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def applied(self) -> bool:
        return self.outcome == APPLIED

    @property
    def rejected_rows(self) -> int:
        """Rows not loaded (all of them when the import was refused)."""
        return self.report.rows_rejected

    def summary(self) -> dict[str, Any]:
        """The result for machines (the HTTP answer, `--report x.json`), without issues."""
        return {
            "agency": self.target.agency,
            "table": self.target.name,
            "outcome": self.outcome,
            "batchId": self.batch_id,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "asOf": self.as_of.isoformat() if self.as_of else None,
            "rejectedRows": self.rejected_rows,
            **self.report.summary(),
        }

    def write_json(
        self, out: IO[str], limit: int | None = None, extra: dict[str, object] | None = None
    ) -> None:
        """The summary (after `extra`) and the issues (the first `limit`) as one JSON
        object, streamed."""
        self.report.write_json(out, {**(extra or {}), **self.summary()}, limit)

    def line(self) -> str:
        """One line for people: what happened, in numbers."""
        report = self.report
        where = f"{self.target.agency}.{self.target.name}"
        if report.file_error is not None:
            return f"{where}: refused, the file cannot be read: {report.file_error.reason_en}"
        counts = (
            f"{report.rows_read} rows read, {report.rows_valid} valid, {report.errors} errors,"
            f" {report.warnings} warnings"
        )
        if self.outcome == REFUSED:
            return f"{where}: refused, nothing changed ({counts})"
        changes = f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
        if self.outcome == DRY_RUN:
            return f"{where}: dry run, nothing changed; would have: {changes} ({counts})"
        rejected = f"; {self.rejected_rows} rows rejected" if self.rejected_rows else ""
        return f"{where}: batch {self.batch_id} applied: {changes} ({counts}){rejected}"


def run_import(
    target: Importable,
    database: Database,
    source: Path,
    options: ImportOptions | None = None,
    *,
    batches: Any,
    lookups: Mapping[str, Database] | None = None,
    before_commit: Callable[[ImportResult, Entities], None] | None = None,
    entity_keys: EntityKeys | None = None,
) -> ImportResult:
    """Import one file into one table; see the module docstring. `batches` is the
    agency's batch registry table; `entity_keys` how `before_commit`'s entities are
    stored, by kind (the others as they are)."""
    options = options or ImportOptions()
    name = options.name or source.name
    report = Report(table=f"{target.agency}.{target.name}", source=name)
    result = ImportResult(
        target, report, REFUSED, submitted_by=options.submitted_by, channel=options.channel
    )
    if options.accept_valid and options.rejects is not None:
        options.rejects.unlink(missing_ok=True)
        result.rejects = options.rejects
    job = ParseJob(
        target,
        source,
        name,
        "sqlite" if database.is_sqlite else "postgresql",
        options.format,
        options.encoding,
        options.sheet,
        options.rejects if options.accept_valid else None,
        duplicates=False,  # found among the staged rows (_check_duplicates)
    )
    stage = open_stage(database, target, entity_keys if before_commit is not None else None)
    lookups = lookups or {}
    try:
        attached = {
            agency: schema
            for agency in {r.agency for r in target.references if r.agency in lookups}
            if agency is not None and (schema := stage.attach(agency, lookups[agency]))
        }
        stage.create()
        if _streamed(target, options):
            now = datetime.now(UTC)
            result.batch_id = stage.start_applying(batches, _registry(result, report, APPLIED, now))
        headers = _stage_rows(stage, job, report, options.workers)
        if report.file_error is None:
            stage.staged()
            rejected = _check(stage, target, report, headers, lookups, attached)
            report.lap("check")
            _finish(stage, result, options, batches, rejected, before_commit)
        if result.outcome == REFUSED:
            stage.rollback()
            if not options.dry_run and options.register_refusal:
                _register_refusal(stage, result, batches)
    except BaseException:
        stage.rollback()
        raise
    finally:
        stage.close()
    return result


def _streamed(target: Importable, options: ImportOptions) -> bool:
    """Whether rows are applied as they are staged: not when a check may leave rows out
    (`accept_valid`), nor when a reference is to the table being loaded (its rows would
    then resolve against themselves)."""
    return not options.accept_valid and all(
        reference.table != target.table.name
        for reference in target.references
        if reference.agency in (None, target.agency)
    )


def _stage_rows(stage: Stage, job: ParseJob, report: Report, workers: int) -> dict[str, str]:
    events = parse_in_worker(job, report) if workers else parse(job, report)
    headers: dict[str, str] = {}
    for event in events:
        if isinstance(event, list):
            stage.write(event)
        elif isinstance(event, Bound):
            headers = event.headers
        elif isinstance(event, Finished):
            break
    report.lap("stage")
    return headers


def _check(
    stage: Stage,
    target: Importable,
    report: Report,
    headers: Mapping[str, str],
    lookups: Mapping[str, Database],
    attached: Mapping[str, str],
) -> dict[int, list[str]]:
    """Reference checks on the staged rows; the rows found in error, with the reasons."""
    rejected: dict[int, list[str]] = {}
    _check_duplicates(stage, target, report, headers, rejected)
    for reference in target.references:
        if reference.agency is None or reference.agency == target.agency:
            _check_within(stage, target, report, headers, reference, rejected)
        elif reference.agency in lookups:
            _check_across(
                stage, target, report, headers, reference, lookups[reference.agency],
                attached.get(reference.agency),
            )  # fmt: skip
    return rejected


def _check_duplicates(
    stage: Stage,
    target: Importable,
    report: Report,
    headers: Mapping[str, str],
    rejected: dict[int, list[str]],
) -> None:
    """Rows whose stored key an earlier row of the file has, found with one query on the
    staged rows (the parsing side keeps no set of keys: a million of them cost 100 MiB).
    A key computed from the file's values (`to_db`) is named as stored."""
    column = "+".join(headers.get(name, name) for name in target.spec.key)
    computed = target.to_db is not None
    names = target.key if computed else tuple(headers.get(name, name) for name in target.key)
    for row_no, first, *values in stage.duplicates():
        listed_en, listed_zh = ", ".join(names), "、".join(names)
        if computed:
            reason_en = (
                f"stored under the same key ({listed_en}) as row {first}; each key may appear"
                " once in a file"
            )
            reason_zh = (
                f"与第 {first} 行对应同一条记录（{listed_zh}）；同一文件中每条记录只能出现一次"
            )
        else:
            reason_en = (
                f"the same key ({listed_en}) as row {first}; each key may appear once in a file"
            )
            reason_zh = f"与第 {first} 行的主键（{listed_zh}）相同；同一文件中每个主键只能出现一次"
        shown = _shown(target, target.key, tuple(values))
        report.add(Issue(row_no, column, shown, reason_en, reason_zh))
        rejected.setdefault(row_no, []).append(f"{reason_zh} / {reason_en}")


def _column_kind(target: Importable, column: str) -> Any:
    spec = target.spec
    if column in spec.column_names:
        return spec.columns[spec.column_names.index(column)].kind
    return None


def _shown(target: Importable, columns: tuple[str, ...], values: tuple[Any, ...]) -> str:
    parts = []
    for column, value in zip(columns, values, strict=True):
        kind = _column_kind(target, column)
        text = "" if value is None else str(value)
        parts.append(mask(text, kind) if kind is not None else text)
    return " | ".join(parts)


def _check_within(
    stage: Stage,
    target: Importable,
    report: Report,
    headers: Mapping[str, str],
    reference: Reference,
    rejected: dict[int, list[str]],
) -> None:
    column = "+".join(headers.get(name, name) for name in reference.columns)
    reason_en = f"no such {reference.what_en} in the {target.agency}'s records: load it first"
    reason_zh = f"本部门数据中没有该{reference.what_zh}，请先导入"
    for row_no, *values in stage.unresolved(reference):
        report.add(
            Issue(
                row_no, column, _shown(target, reference.columns, tuple(values)),
                reason_en, reason_zh,
            )
        )  # fmt: skip
        rejected.setdefault(row_no, []).append(f"{column}: {reason_zh} / {reason_en}")


def _check_across(
    stage: Stage,
    target: Importable,
    report: Report,
    headers: Mapping[str, str],
    reference: Reference,
    other: Database,
    schema: str | None,
) -> None:
    """Keys another agency lacks — in one query when its database is attached, else a
    thousand keys per query — reported once per key."""
    if len(reference.columns) != 1:
        raise ValueError("references to another agency use one column")
    [column] = reference.columns
    [key] = reference.keys
    stage.start_missing()
    if schema is not None:
        stage.mark_missing_there(column, schema, reference.table, key)
    else:
        _find_missing(stage, reference, column, key, other)
    _report_missing(stage, target, report, headers, reference, column)


def _find_missing(
    stage: Stage, reference: Reference, column: str, key: str, other: Database
) -> None:
    engine = other.one_off_engine()
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        mark = "?" if other.is_sqlite else "%s"
        quote = engine.dialect.identifier_preparer.quote
        if stage.mark_missing_by_copy(column, driver, quote(reference.table), quote(key)):
            driver.rollback()
            return
        chunk: list[Any] = []

        def flush() -> None:
            # PostgreSQL: one array parameter (= ANY) plans once, whatever the count
            where, arguments = (
                (f"IN ({', '.join([mark] * len(chunk))})", chunk)
                if other.is_sqlite
                else ("= ANY(%s)", [chunk])
            )
            cursor = driver.cursor()
            try:
                cursor.execute(
                    f"SELECT {quote(key)} FROM {quote(reference.table)} WHERE {quote(key)} {where}",
                    arguments,
                )
                known = {row[0] for row in cursor.fetchall()}
            finally:
                cursor.close()
            stage.mark_missing([value for value in chunk if value not in known])
            chunk.clear()

        for value in stage.distinct(column):
            chunk.append(value)
            if len(chunk) >= KEYS_PER_LOOKUP:
                flush()
        if chunk:
            flush()
        if not other.is_sqlite:
            driver.rollback()


def _report_missing(
    stage: Stage,
    target: Importable,
    report: Report,
    headers: Mapping[str, str],
    reference: Reference,
    column: str,
) -> None:
    total, listed = stage.missing_rows(column, WARNINGS_PER_REFERENCE)
    header = headers.get(column, column)
    agency = reference.agency
    for first, rows, value in listed:
        more_en = f" (and {rows - 1} more rows)" if rows > 1 else ""
        more_zh = f"（另有 {rows - 1} 行）" if rows > 1 else ""
        report.add(
            Issue(
                first,
                header,
                _shown(target, (column,), (value,)),
                f"{reference.what_en} not known to {agency}{more_en}",
                f"{agency} 部门数据中没有该{reference.what_zh}{more_zh}",
                "warning",
            )
        )
    if total > len(listed):
        report.add(
            Issue(
                None,
                header,
                None,
                f"{total - len(listed)} more {reference.what_en}s not known to {agency}",
                f"另有 {total - len(listed)} 个{reference.what_zh}在 {agency} 部门数据中不存在",
                "warning",
            )
        )


def _finish(
    stage: Stage,
    result: ImportResult,
    options: ImportOptions,
    batches: Any,
    rejected_after_read: dict[int, list[str]],
    before_commit: Callable[[ImportResult, Entities], None] | None,
) -> None:
    report, target = result.report, result.target
    if report.errors and not options.accept_valid:
        result.outcome = REFUSED
        return
    if rejected_after_read:
        dropped = stage.drop_rows(sorted(rejected_after_read))
        report.rows_valid -= len(dropped)
        report.rows_rejected += len(dropped)
        if result.rejects is not None:
            _write_rejects(result, dropped, rejected_after_read)
    staged = stage.count()
    result.as_of = options.as_of or _default_as_of(stage, target, staged)
    now = datetime.now(UTC)
    if stage.applying is None:
        batch_id = stage.register(batches, _registry(result, report, APPLIED, now))
    else:  # streamed: registered before the rows were applied
        batch_id = stage.applying
    result.batch_id = batch_id
    try:
        result.inserted, result.updated = stage.apply(batch_id)
    except stage.conflicts as error:  # the caller rolls back and registers the refusal
        report.add(
            Issue(
                None, None, None,
                f"the rows break a rule of the {target.name} table ({_rule_of(error)}):"
                " nothing was written",
                f"数据违反 {target.name} 表的约束（{_rule_of(error)}），未写入任何数据",
            )
        )  # fmt: skip
        result.outcome = REFUSED
        return
    result.unchanged = staged - result.inserted - result.updated
    report.lap("apply")
    result.outcome = DRY_RUN if options.dry_run else APPLIED
    stage.update_batch(batches, batch_id, _registry(result, report, APPLIED, now))
    if options.dry_run:
        result.batch_id = None
        stage.rollback()
        return
    if before_commit is not None:
        before_commit(result, lambda: _entities(stage, result, batch_id))
        report.lap("audit")
    stage.commit()
    report.lap("commit")
    result.finished_at = datetime.now(UTC)


def _default_as_of(stage: Stage, target: Importable, staged: int) -> date | None:
    """A monthly table is complete through the end of its latest month; any other through
    the day it is sent (in China)."""
    if target.period is None:
        return datetime.now(CHINA_STANDARD_TIME).date()
    latest = stage.latest(target.period) if staged else None
    return month_end(latest) if latest is not None else None


def _write_rejects(
    result: ImportResult, dropped: list[tuple[Any, ...]], reasons: Mapping[int, list[str]]
) -> None:
    assert result.rejects is not None
    target = result.target
    written = target.written
    typed = target.typed_row()
    with RejectsWriter(result.rejects, target.spec) as writer:
        for row_no, *values in dropped:
            stored = _revive(target, dict(zip(written, values, strict=True)))
            cells = [
                None if value is None else column.kind.text(value)
                for column, value in zip(target.spec.columns, typed(stored), strict=True)
            ]
            writer.write(row_no, list(cells), reasons.get(row_no, []))


def _revive(target: Importable, stored: dict[str, Any]) -> dict[str, Any]:
    """Staged values back to Python values (SQLite keeps dates as ISO text)."""
    for name, value in stored.items():
        python_type = _python_type(target, name)
        if isinstance(value, str) and python_type is date:
            stored[name] = date.fromisoformat(value)
        elif isinstance(value, int) and python_type is bool:
            stored[name] = bool(value)
    for name in target.table.c.keys():  # noqa: SIM118 - a ColumnCollection
        stored.setdefault(name, None)
    return stored


def _python_type(target: Importable, name: str) -> type | None:
    try:
        found: type = target.table.c[name].type.python_type
    except NotImplementedError:
        return None
    return found


def _entities(stage: Stage, result: ImportResult, batch_id: int) -> Iterator[tuple[str, str]]:
    """The entities of the rows this import wrote (inserted or changed). Each staged row
    is a distinct stored row (duplicate keys are refused), so when none was left
    unchanged the staged values alone say it, without joining the table to find which
    rows this batch wrote (that join cost as much as the apply); when none changed there
    is nothing to name."""
    if not (result.inserted or result.updated):
        return
    every_row = result.unchanged == 0
    for kind, entity in result.target.entities:
        column = stage.entity_column(entity)
        values = stage.distinct(column) if every_row else stage.written(column, batch_id)
        for value in values:
            yield kind, str(value)


def _rule_of(error: Exception) -> str:
    """The rule a conflict broke, by name only (the driver's message may quote values)."""
    diagnostic = getattr(error, "diag", None)
    constraint = getattr(diagnostic, "constraint_name", None)
    if constraint:
        return str(constraint)
    text = str(error)
    return (
        text.split(":", 1)[1].strip() if text.startswith("UNIQUE constraint failed:") else "unique"
    )


def _registry(result: ImportResult, report: Report, outcome: str, now: datetime) -> dict[str, Any]:
    return {
        "table_name": result.target.name,
        "channel": result.channel,
        "submitted_by": result.submitted_by[:128],
        "source": report.source[:255],
        "sha256": report.sha256,
        "as_of": result.as_of,
        "rows_read": report.rows_read,
        "rows_valid": report.rows_valid,
        "rows_rejected": report.rows_rejected,
        "rows_inserted": result.inserted,
        "rows_updated": result.updated,
        "rows_unchanged": result.unchanged,
        "errors": report.errors,
        "warnings": report.warnings,
        "started_at": report.started_at,
        "finished_at": now,
        "seconds": seconds_json(report.seconds),
        "outcome": outcome,
    }


def _register_refusal(stage: Stage, result: ImportResult, batches: Any) -> None:
    """A refused import leaves one registry row (in its own transaction) and nothing else."""
    stage.begin()
    result.batch_id = stage.register(
        batches, _registry(result, result.report, REFUSED, datetime.now(UTC))
    )
    stage.commit()
