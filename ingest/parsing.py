"""The parsing side of an import: file → validated rows → database rows, in batches.

`parse` runs in the importing process (small files, HTTP pushes); `parse_in_worker` runs
the same generator in a separate process and hands its batches over a pipe, so reading
and checking (most of the CPU an import costs) run on one core while the importing
process writes to the database on the other. Either way the caller receives:

    Bound(headers)     once the header is understood: column name → header as written
    list[StagedRow]    batches of (row number, *database values), file order
    Finished(...)      the file's SHA-256 and, from a worker, its report's counts

Database values are prepared for the backend where the rows are parsed: SQLite gets the
strings SQLAlchemy would store (dates as ISO text), PostgreSQL Python values for COPY.
A file that cannot be read (`IngestError`) ends the stream after the report has it.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any, Final

from sqlalchemy import Date
from sqlalchemy.dialects import sqlite

from ingest.errors import IngestError
from ingest.formats import Format
from ingest.readers import open_table
from ingest.rejects import RejectsWriter
from ingest.report import Issue, Report
from ingest.targets import DbRow, Importable
from ingest.validate import TypedRow, Validator
from ingest.values.kinds import MEMO_LIMIT

BATCH_ROWS: Final = 5_000
StagedRow = tuple[object, ...]
"""(row number, *database values in `Importable.written` order)."""


@dataclass(frozen=True, slots=True)
class ParseJob:
    """What to read and how; picklable, so a worker process can be given it."""

    target: Importable
    source: Path
    name: str
    backend: str
    format: Format | None = None
    encoding: str | None = None
    sheet: str | None = None
    rejects: Path | None = None
    batch_rows: int = BATCH_ROWS
    duplicates: bool = True
    """Refuse rows whose key an earlier row has while reading (False: the importer finds
    them among the staged rows, without a dict of every key in this process)."""


@dataclass(frozen=True, slots=True)
class Bound:
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Finished:
    sha256: str
    counts: dict[str, int] = field(default_factory=dict)
    file_error: Issue | None = None
    seconds: float = 0.0
    peak_mib: float = 0.0


def peak_mib() -> float:
    """This process's peak resident memory since it started (or was reset), in MiB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _processors(target: Importable, backend: str) -> list[tuple[int, Callable[[Any], object]]]:
    """(position, bind processor) of each written column whose value the backend's bulk
    path needs converted: SQLite takes what SQLAlchemy would bind (dates as ISO text,
    booleans as 0/1); psycopg's COPY adapts Python values."""
    if backend != "sqlite":
        return []
    dialect = sqlite.dialect()
    processors: list[tuple[int, Callable[[Any], object]]] = []
    for position, name in enumerate(target.written):
        column_type = target.table.c[name].type
        if type(column_type) is Date:  # what SQLAlchemy stores, by the C method (3x faster)
            processors.append((position, datetime.date.isoformat))
        elif processor := column_type.dialect_impl(dialect).bind_processor(dialect):
            processors.append((position, processor))
    return processors


class _Converted(dict[object, object]):
    """A bind processor's results by value, up to MEMO_LIMIT of them: a payroll's dates and
    flags repeat on every row, and a subscript that finds one is no Python call."""

    __slots__ = ("convert",)

    def __init__(self, convert: Callable[[Any], object]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, value: object) -> object:
        converted = self.convert(value)
        if len(self) < MEMO_LIMIT:
            self[value] = converted
        return converted


def staged_row(target: Importable, backend: str) -> Callable[[int, TypedRow], StagedRow]:
    """(row number, typed row) → the staged row, by one function compiled for the table and
    backend: the database values picked (or `to_db`) and converted in a single tuple
    display, each converted value looked up (`_Converted`); a list, a loop calling the
    converters and a second tuple cost 1.6 µs a row on SQLite, a sixth of the parser's work."""
    converters = {n: _Converted(convert) for n, convert in _processors(target, backend)}
    names: dict[str, object] = {"to_db": target.to_db}
    if target.to_db is None:
        positions = [target.spec.column_names.index(name) for name in target.written]
        source = "values"
    else:
        positions = list(range(len(target.written)))
        source = "to_db(values)"
    cells = []
    for n, at in enumerate(positions):
        convert = converters.get(n)
        if convert is None:
            cells.append(f"v[{at}]")
        else:
            names[f"c{n}"] = convert
            cells.append(f"(None if (x{n} := v[{at}]) is None else c{n}[x{n}])")
    code = f"def staged(number, values):\n    v = {source}\n    return (number, {', '.join(cells)})"
    exec(compile(code, f"<staged row of {target.agency}.{target.name}>", "exec"), names)
    built: Callable[[int, TypedRow], StagedRow] = names["staged"]  # type: ignore[assignment]
    return built


def preparer(target: Importable, backend: str) -> Callable[[DbRow], Sequence[object]]:
    """Values as the backend's bulk path takes them (`_processors`)."""
    processors = _processors(target, backend)
    if not processors:
        return lambda values: values

    def prepared(values: DbRow) -> Sequence[object]:
        out = list(values)
        for position, processor in processors:
            value = out[position]
            if value is not None:
                out[position] = processor(value)
        return out

    return prepared


def parse(job: ParseJob, report: Report) -> Iterator[Bound | list[StagedRow] | Finished]:
    """The job's rows in batches, problems into `report`; ends with `Finished`."""
    target = job.target
    rejects = RejectsWriter(job.rejects, target.spec) if job.rejects is not None else None
    stage_row = staged_row(target, job.backend)
    started = report.seconds.get("read", 0.0)

    def rejected(number: int, cells: list[object]) -> None:
        assert rejects is not None
        reasons = report.last_reasons if report.last_row == number else []
        rejects.write(number, cells, reasons)

    validator = Validator(
        target.spec,
        report,
        rejected if rejects is not None else None,
        duplicates=job.duplicates,
    )
    sha256 = ""
    try:
        with open_table(
            job.source,
            format=job.format,
            encoding=job.encoding,
            sheet=job.sheet,
            name=job.name,
            is_header=validator.is_header,
        ) as raw:
            rows = validator.read(raw)
            yield Bound({name: validator.header_of(name) for name in target.spec.column_names})
            batch: list[StagedRow] = []
            size = job.batch_rows
            for number, values in rows:
                batch.append(stage_row(number, values))
                if len(batch) >= size:
                    yield batch
                    batch = []
            if batch:
                yield batch
            sha256 = raw.sha256
    except IngestError as error:
        if report.file_error is None:
            report.refuse_file(Issue(error.row, None, None, error.reason_en, error.reason_zh))
    finally:
        if rejects is not None:
            rejects.close()
    report.sha256 = sha256
    report.lap("read")
    yield Finished(sha256, seconds=report.seconds.get("read", 0.0) - started)


# --- in a worker process ----------------------------------------------------------------
#
# The worker is `python -m ingest.worker`, started with pipes on its standard input (the
# job) and output (the events), each a pickled message behind a length (multiprocessing's
# framing). A fresh interpreter, not multiprocessing's spawn: that would re-run the
# importing program's main module, which a console script or a test runner is not made for.


@dataclass(frozen=True, slots=True)
class WorkerFailed:
    reason: str


class ParserStopped(Exception):
    """The parsing worker process ended without finishing (killed, or it failed)."""


def _work(job: ParseJob, spool: str, events: Connection) -> None:
    """The worker's body: parse, send each event, exit (quietly if the importer is gone)."""
    report = Report(table=f"{job.target.agency}.{job.target.name}", source=job.name)
    report.spool_to(spool)
    try:
        for event in parse(job, report):
            if isinstance(event, Finished):
                event = Finished(
                    event.sha256, report.counts(), report.file_error, event.seconds, peak_mib()
                )
                report.close()  # every issue on disk before the importer reads the file
            events.send(event)
    except (BrokenPipeError, ConnectionResetError):  # the importer stopped: so do we
        return
    except Exception as error:  # anything else: tell the importer, which reports it
        events.send(WorkerFailed(f"{type(error).__name__}: {error}"))
    finally:
        report.close()


def parse_in_worker(job: ParseJob, report: Report) -> Iterator[Bound | list[StagedRow] | Finished]:
    """`parse` run in a separate process; its report's issues and counts end up in
    `report` (which must hold none yet) once it has finished."""
    descriptor, spool = tempfile.mkstemp(prefix="ingest-report-", suffix=".jsonl")
    os.close(descriptor)
    worker = subprocess.Popen(
        [sys.executable, "-m", "ingest.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert worker.stdin is not None
    assert worker.stdout is not None
    jobs = Connection(os.dup(worker.stdin.fileno()), readable=False)
    events = Connection(os.dup(worker.stdout.fileno()), writable=False)
    worker.stdin.close()
    worker.stdout.close()
    finished = False
    try:
        jobs.send((job, spool))
        jobs.close()
        while True:
            try:
                event = events.recv()
            except EOFError:
                raise ParserStopped("the parsing process ended unexpectedly") from None
            if isinstance(event, WorkerFailed):
                raise ParserStopped(f"the parsing process failed: {event.reason}")
            if isinstance(event, Finished):
                report.absorb(spool, event.counts, owned=True)
                report.file_error = event.file_error
                report.sha256 = event.sha256
                report.seconds["read"] = report.seconds.get("read", 0.0) + event.seconds
                report.peak_mib["parser"] = event.peak_mib
                finished = True
                yield event
                return
            yield event
    finally:
        events.close()
        if not jobs.closed:
            jobs.close()
        if worker.poll() is None:
            worker.terminate()
        worker.wait()
        if not finished:
            Path(spool).unlink(missing_ok=True)


def worker_main() -> None:
    """Entry point of the worker process: the job from stdin, events to stdout."""
    events = Connection(os.dup(sys.stdout.fileno()), readable=False)
    sys.stdout = sys.stderr  # a stray print must not corrupt the event stream
    jobs = Connection(os.dup(sys.stdin.fileno()), writable=False)
    job, spool = jobs.recv()
    jobs.close()
    try:
        _work(job, spool, events)
    finally:
        with contextlib.suppress(OSError):
            events.close()


def open_source(stream: IO[bytes], directory: Path | None = None) -> Path:
    """A stream copied to a temporary file (a worker process needs a path)."""
    descriptor, path = tempfile.mkstemp(prefix="ingest-", dir=directory)
    with os.fdopen(descriptor, "wb") as out:
        while chunk := stream.read(1 << 20):
            out.write(chunk)
    return Path(path)
