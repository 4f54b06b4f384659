"""The batch registry: one row per import in the agency's own database, written in the
same transaction as the rows it brought, so a batch is recorded exactly when its rows are.

Each agency's models declare the table (its own name, its own metadata):

    class ImportBatch(BankRecord, ImportBatchFields, table=True):
        __tablename__ = "bank_import_batch"

and every importable table carries `batch_id = batch_field()`: the batch that last wrote
the row (a correction moves it to the correcting batch; a row re-sent unchanged keeps the
batch that first wrote it). Rows seeded by `hub seed` carry the seed's own batch.
Refused imports are registered too (outcome `refused`, in their own transaction), so an
agency's history shows the files that did not load and why; dry runs are not.

`as_of` is the day through which the batch says the agency's data is complete (given by
the sender, or the last day of the latest month in a table with a period column); the
agency's "as of" is the latest over its applied batches (`data_as_of`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import Table, func, select
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime

APPLIED: Final = "applied"
REFUSED: Final = "refused"
SEEDED: Final = "seeded"
OUTCOMES: Final = (APPLIED, REFUSED, SEEDED)


class ImportBatchFields(SQLModel):
    """The registry's columns; an agency mixes them into its own `<agency>_import_batch`."""

    id: int | None = Field(default=None, primary_key=True)
    table_name: str = Field(max_length=64, description="the importable table written")
    channel: str = Field(max_length=16, description="cli, http, national or seed")
    submitted_by: str = Field(
        max_length=128, description="the OAuth client, or the operator at the command line"
    )
    source: str = Field(max_length=255, description="the file's name as sent")
    sha256: str = Field(max_length=64, index=True, description="SHA-256 of the file's bytes")
    as_of: date | None = Field(default=None, description="data complete through this day")
    rows_read: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    errors: int = 0
    warnings: int = 0
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime = Field(sa_type=UTCDateTime)
    seconds: str = Field(default="{}", max_length=1000, description="phase timings as JSON")
    outcome: str = Field(max_length=16, description="applied, refused or seeded")


def batch_field() -> Any:
    """The provenance column of an importable table: the batch that last wrote the row.
    Indexed: a refresh of the warning facts and a sweep of the warnings after an import
    read the rows of the batches written since (`graph.facts.changes`), which without
    it is a scan of every row the agency ever sent, however few the import wrote."""
    return Field(default=None, index=True, description="the import batch that last wrote this row")


def as_of_by_table(batches: Table) -> Any:
    """Per table, the latest day the agency's applied (or seeded) batches vouch for."""
    return (
        select(batches.c.table_name, func.max(batches.c.as_of).label("as_of"))
        .where(batches.c.outcome.in_((APPLIED, SEEDED)))
        .group_by(batches.c.table_name)
    )
