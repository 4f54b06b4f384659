"""The rejects file of an `--accept-valid` import: the rows that were not loaded, as the
file gave them, with why, ready to be fixed and sent again.

CSV in UTF-8 with a BOM (Excel shows the Chinese), the table's Chinese titles as headers
(the importer accepts them), one leading column with the row's number in the original
file and one trailing column with the reasons; both are unknown columns to the importer,
which ignores them with a warning when the fixed file comes back. A cell a spreadsheet
would run as a formula gets a leading `'` (it is usually the cell that was refused).
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path
from typing import IO, Final

from ingest.tables import TableSpec
from ingest.writers import csv_cell

ROW_HEADER: Final = "原行号 row"
REASON_HEADER: Final = "错误原因 reasons"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return csv_cell(str(value))


class RejectsWriter:
    """Appends rejected rows to a CSV file; the header is written when the file is new."""

    def __init__(self, path: Path, table: TableSpec) -> None:
        self.path = path
        self.rows = 0
        fresh = not path.exists() or path.stat().st_size == 0
        self._file: IO[str] = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        if fresh:
            self._file.write("\ufeff")
            self._writer.writerow([ROW_HEADER, *(c.title for c in table.columns), REASON_HEADER])

    def write(self, number: int, cells: list[object], reasons: list[str]) -> None:
        self._writer.writerow([number, *(_text(cell) for cell in cells), "；".join(reasons)])
        self.rows += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
