"""The import report: every problem with its row, column, value and reason, plus the counts.

Issues are spooled to a temporary file as they come (a million bad rows must not fill
memory) and read back when the report is rendered: as CSV for people (UTF-8 with a BOM so
Excel shows the Chinese, every cell that could run as a formula prefixed with `'`) and as
JSON for machines. Values of sensitive columns arrive here already masked (`values.mask`).
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import os
import tempfile
import time
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Final, Literal

Severity = Literal["error", "warning"]

_SPOOL_IN_MEMORY: Final = 1 << 20
_FORMULA_CHARS: Final = frozenset("=+-@\t\r")


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem. `row` is the row number as the user sees it in the file (header = 1 in
    CSV and XLSX, line number in JSON Lines); `column` is the header as written there."""

    row: int | None
    column: str | None
    value: str | None
    reason_en: str
    reason_zh: str
    severity: Severity = "error"


@dataclass(slots=True, weakref_slot=True)
class Report:
    """Counts, the file's SHA-256, timings and the spooled issues of one import."""

    table: str
    source: str = ""
    sha256: str = ""
    rows_read: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    errors: int = 0
    warnings: int = 0
    file_error: Issue | None = None
    started_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )
    seconds: dict[str, float] = field(default_factory=dict)
    peak_mib: dict[str, float] = field(default_factory=dict)
    """Peak memory of the processes that read the file (the parsing worker's), for the
    benchmark; not part of the report agencies see."""
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    """This process's CPU seconds (every thread) per phase, beside `seconds`: on a loaded
    machine the wall times say little. For the benchmark, like `peak_mib`."""
    _spool: IO[str] | None = field(default=None, repr=False)
    _clock: float = field(default_factory=time.perf_counter, repr=False)
    _cpu_clock: float = field(default_factory=time.process_time, repr=False)
    _closer: weakref.finalize[Any, Any] | None = field(default=None, repr=False)
    last_row: int | None = field(default=None, repr=False)
    last_reasons: list[str] = field(default_factory=list, repr=False)
    """The reasons given for `last_row`, the row most recently reported (rejects files)."""

    def add(self, issue: Issue) -> None:
        if issue.severity == "error":
            self.errors += 1
        else:
            self.warnings += 1
        if issue.row != self.last_row:
            self.last_row = issue.row
            self.last_reasons = []
        if issue.severity == "error":
            where = f"{issue.column}: " if issue.column else ""
            self.last_reasons.append(f"{where}{issue.reason_zh} / {issue.reason_en}")
        if self._spool is None:
            self._open_spool(None)
        assert self._spool is not None
        self._spool.write(json.dumps(asdict(issue), ensure_ascii=False) + "\n")

    def _open_spool(self, path: str | None, owned: bool = False) -> None:
        if path is None:
            self._spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed below
                max_size=_SPOOL_IN_MEMORY, mode="w+", encoding="utf-8", newline="\n"
            )
        else:
            self._spool = open(path, "a+", encoding="utf-8", newline="\n")  # noqa: SIM115
        # closed when the report is, or when it is collected (no ResourceWarning)
        self._closer = weakref.finalize(self, _close_spool, self._spool, path if owned else None)

    def spool_to(self, path: str) -> None:
        """Write issues to `path` (a parsing worker's report, read back with `absorb`)."""
        if self._spool is not None:
            raise RuntimeError("the report already holds issues")
        self._open_spool(path)

    def absorb(self, path: str, counts: dict[str, int], *, owned: bool = False) -> None:
        """Take over the issues a worker's report spooled to `path`, and its counts;
        issues added later follow them in the same file, deleted on close when `owned`."""
        if self._spool is not None:
            raise RuntimeError("the report already holds issues")
        self._open_spool(path, owned)
        for name in ("rows_read", "rows_valid", "rows_rejected", "errors", "warnings"):
            setattr(self, name, getattr(self, name) + counts.get(name, 0))

    def counts(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_rejected": self.rows_rejected,
            "errors": self.errors,
            "warnings": self.warnings,
        }

    def refuse_file(self, issue: Issue) -> None:
        """The whole file is refused: nothing in it counts as valid."""
        self.file_error = issue
        self.add(issue)

    def lap(self, phase: str) -> None:
        """Record the seconds since the previous lap (or the start) under `phase`."""
        now, cpu = time.perf_counter(), time.process_time()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._clock
        self.cpu_seconds[phase] = self.cpu_seconds.get(phase, 0.0) + cpu - self._cpu_clock
        self._clock, self._cpu_clock = now, cpu

    @property
    def ok(self) -> bool:
        """Whether the file can be loaded whole (no error at all)."""
        return self.errors == 0

    def issues(self) -> Iterator[Issue]:
        if self._spool is None:
            return
        self._spool.flush()
        self._spool.seek(0)
        for line in self._spool:
            yield Issue(**json.loads(line))
        self._spool.seek(0, io.SEEK_END)

    def summary(self) -> dict[str, object]:
        return {
            "table": self.table,
            "source": self.source,
            "sha256": self.sha256,
            "rowsRead": self.rows_read,
            "rowsValid": self.rows_valid,
            "rowsRejected": self.rows_rejected,
            "errors": self.errors,
            "warnings": self.warnings,
            "fileRefused": self.file_error is not None,
            "startedAt": self.started_at.isoformat(),
            "seconds": {phase: round(value, 6) for phase, value in self.seconds.items()},
        }

    def write_json(
        self, out: IO[str], extra: dict[str, object] | None = None, limit: int | None = None
    ) -> None:
        """The whole report as one JSON object (`extra` members first); issues are
        streamed, not held; beyond `limit` of them, `issuesOmitted` counts the rest."""
        total = self.errors + self.warnings
        omitted = {"issuesOmitted": total - limit} if limit is not None and total > limit else {}
        summary = json.dumps({**(extra or {}), **self.summary(), **omitted}, ensure_ascii=False)
        out.write(summary[:-1] + ', "issues": [')
        for number, issue in enumerate(self.issues()):
            if limit is not None and number >= limit:
                break
            out.write(
                ("," if number else "") + "\n" + json.dumps(_issue_json(issue), ensure_ascii=False)
            )
        out.write("\n]}\n")

    def write_csv(self, out: IO[str]) -> None:
        """The issues as a spreadsheet; `out` should be opened with newline=""."""
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(["行号 row", "列 column", "值 value", "级别 severity", "原因", "reason"])
        for issue in self.issues():
            writer.writerow(
                [
                    issue.row if issue.row is not None else "",
                    csv_safe(issue.column or ""),
                    csv_safe(issue.value or ""),
                    "错误 error" if issue.severity == "error" else "警告 warning",
                    csv_safe(issue.reason_zh),
                    csv_safe(issue.reason_en),
                ]
            )

    def close(self) -> None:
        if self._closer is not None:
            self._closer()


def _close_spool(spool: IO[str], path: str | None) -> None:
    spool.close()
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _issue_json(issue: Issue) -> dict[str, object]:
    return {
        "row": issue.row,
        "column": issue.column,
        "value": issue.value,
        "severity": issue.severity,
        "reasonEn": issue.reason_en,
        "reasonZh": issue.reason_zh,
    }


def csv_safe(text: str) -> str:
    """A cell a spreadsheet will show as text, never run (OWASP: prefix with `'`)."""
    return "'" + text if text and text[0] in _FORMULA_CHARS else text
