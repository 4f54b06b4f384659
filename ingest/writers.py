"""Exports in the formats the importer reads, so an agency can check what the hub holds.

Headers are the columns' Chinese titles (CSV, XLSX) or their field names (JSON Lines);
values are written the way `Kind` says: yuan with two decimals, dates as dates, months as
`2026-09`, yes/no as 是/否, enumerations by their Chinese label for people and their
canonical value for machines. Reading an export back through the readers and validator
gives the same typed rows (tested).

Safety: a CSV text cell that a spreadsheet would run as a formula gets a leading `'`
(numbers such as `-12.50` are left alone: they are not formulas). The importer refuses
formula-like text, so hub data should never need it; the guard is for data that predates
it. In XLSX every text cell is written as a string cell, which Excel never evaluates.

Memory: CSV and JSON Lines are written row by row; XLSX with XlsxWriter's constant-memory
mode (rows flushed to a temporary file as written, strings inline).
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

from ingest.formats import CSV_ENCODINGS
from ingest.tables import TableSpec
from ingest.validate import TypedRow
from kernel.deferred import deferred

if TYPE_CHECKING:
    import xlsxwriter
else:
    xlsxwriter = deferred("xlsxwriter")  # only when a workbook is written

_FORMULA_CHARS: Final = frozenset("=+-@\t\r")


def _is_number(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    whole, _, fraction = body.partition(".")
    return bool(whole or fraction) and (whole + fraction).isdigit() and body.isascii()


def csv_cell(text: str) -> str:
    """Text a spreadsheet shows as text: formula-like cells get a leading `'`."""
    if text and text[0] in _FORMULA_CHARS and not _is_number(text):
        return "'" + text
    return text


def write_csv(
    out: IO[bytes], table: TableSpec, rows: Iterable[TypedRow], encoding: str = "utf-8-sig"
) -> int:
    """Write rows as CSV in UTF-8 with a BOM (default) or GB18030; returns the row count."""
    if encoding not in CSV_ENCODINGS:
        raise ValueError(f"encoding {encoding!r}: expected one of {CSV_ENCODINGS}")
    text = _TextSink(out, encoding)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([column.title for column in table.columns])
    formatters = [column.kind.text for column in table.columns]
    count = 0
    for values in rows:
        writer.writerow(
            [
                "" if value is None else csv_cell(fmt(value))
                for fmt, value in zip(formatters, values, strict=True)
            ]
        )
        count += 1
    text.flush()
    return count


class _TextSink:
    """A minimal text writer over a binary stream (csv.writer only needs `write`)."""

    def __init__(self, out: IO[bytes], encoding: str) -> None:
        self._out = out
        self._encoding = encoding
        self._chunks: list[str] = []
        self._size = 0
        if encoding == "utf-8-sig":
            self._encoding = "utf-8"
            out.write(b"\xef\xbb\xbf")

    def write(self, text: str) -> int:
        self._chunks.append(text)
        self._size += len(text)
        if self._size >= 1 << 16:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._chunks:
            self._out.write("".join(self._chunks).encode(self._encoding))
            self._chunks.clear()
            self._size = 0


def write_jsonl(out: IO[bytes], table: TableSpec, rows: Iterable[TypedRow]) -> int:
    """One JSON object a line, keyed by field name, UTF-8 without BOM; returns the count."""
    names = table.column_names
    formatters = [column.kind.to_json for column in table.columns]
    count = 0
    buffer: list[str] = []
    for values in rows:
        record = {
            name: None if value is None else fmt(value)
            for name, fmt, value in zip(names, formatters, values, strict=True)
        }
        buffer.append(json.dumps(record, ensure_ascii=False))
        count += 1
        if len(buffer) >= 1000:
            out.write(("\n".join(buffer) + "\n").encode("utf-8"))
            buffer.clear()
    if buffer:
        out.write(("\n".join(buffer) + "\n").encode("utf-8"))
    return count


def write_xlsx(
    path: str | Path, table: TableSpec, rows: Iterable[TypedRow], sheet: str | None = None
) -> int:
    """Write rows to an XLSX workbook in constant memory; returns the row count."""
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    try:
        worksheet = workbook.add_worksheet((sheet or table.title)[:31])
        bold = workbook.add_format({"bold": True})
        formats = [
            workbook.add_format({"num_format": column.kind.xlsx_format})
            if column.kind.xlsx_format
            else None
            for column in table.columns
        ]
        for index, column in enumerate(table.columns):
            worksheet.write_string(0, index, column.title, bold)
            worksheet.set_column(index, index, max(10, 2 * len(column.title) + 2))
        worksheet.freeze_panes(1, 0)
        converters = [column.kind.to_cell for column in table.columns]
        count = 0
        for number, values in enumerate(rows, start=1):
            for index, (convert, value, fmt) in enumerate(
                zip(converters, values, formats, strict=True)
            ):
                if value is None:
                    continue
                cell = convert(value)
                if isinstance(cell, str):
                    worksheet.write_string(number, index, cell)
                elif isinstance(cell, bool):
                    worksheet.write_boolean(number, index, cell)
                elif isinstance(cell, int | float):
                    worksheet.write_number(number, index, cell, fmt)
                elif isinstance(cell, datetime.date):
                    worksheet.write_datetime(number, index, cell, fmt)
                else:
                    raise TypeError(f"cannot write {type(cell).__name__} to XLSX")
            count = number
    finally:
        workbook.close()
    return count
