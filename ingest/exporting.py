"""An agency's table back out, in the formats the importer reads, so the agency can check
what the hub holds about it (and the synthetic world can be sent in as agencies would).

Rows are read a few thousand at a time (a server-side cursor on PostgreSQL) in the
table's export order — its primary key unless declared — and written by `ingest.writers`:
CSV (UTF-8 with BOM, or GB18030), XLSX (constant memory) or JSON Lines. Importing an
export gives the same rows.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final

from sqlalchemy import select

from ingest.formats import ExportFormat
from ingest.targets import Importable
from ingest.validate import TypedRow
from ingest.writers import write_csv, write_jsonl, write_xlsx
from storage.database import Database

ROWS_PER_FETCH: Final = 5_000


def stored_rows(target: Importable, database: Database) -> Iterator[TypedRow]:
    """The table's rows as the file's typed rows, in export order, streamed."""
    table = target.table
    order = [table.c[name] for name in target.export_order] or list(table.primary_key.columns)
    typed = target.typed_row()
    engine = database.sync_engine()
    try:
        with engine.connect() as connection:
            result = connection.execution_options(yield_per=ROWS_PER_FETCH).execute(
                select(table).order_by(*order)
            )
            for row in result:
                yield typed(row._mapping)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def export_table(
    target: Importable,
    database: Database,
    out: IO[bytes],
    format: ExportFormat = "csv",
    encoding: str = "utf-8-sig",
) -> int:
    """Write the table to `out`; returns the number of rows."""
    rows = stored_rows(target, database)
    if format == "csv":
        return write_csv(out, target.spec, rows, encoding)
    if format == "jsonl":
        return write_jsonl(out, target.spec, rows)
    with tempfile.TemporaryDirectory(prefix="ingest-export-") as directory:
        path = Path(directory) / "export.xlsx"
        count = write_xlsx(path, target.spec, rows)
        with path.open("rb") as written:
            shutil.copyfileobj(written, out)
    return count
