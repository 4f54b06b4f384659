"""Public security (公安): identities and temporary residence registrations."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ingest.batches import ImportBatchFields, batch_field


class PoliceRecord(SQLModel, registry=registry()):
    """Base of this agency's tables: its own metadata, so its own database."""


class ImportBatch(PoliceRecord, ImportBatchFields, table=True):
    """Every file the police sent (`ingest.batches`)."""

    __tablename__ = "ps_import_batch"


class Identity(PoliceRecord, table=True):
    """Resident identity and household registration 户籍."""

    __tablename__ = "ps_identity"

    id_number: str = Field(primary_key=True, max_length=18)
    name: str = Field(max_length=50)
    household_region_code: str = Field(max_length=6, index=True)
    household_address: str = Field(max_length=200)
    batch_id: int | None = batch_field()


class Residence(PoliceRecord, table=True):
    """Temporary residence registration 临时居住登记."""

    __tablename__ = "ps_residence"

    registration_no: str = Field(primary_key=True, max_length=32)
    id_number: str = Field(max_length=18, index=True)
    region_code: str = Field(max_length=6, index=True)
    address: str = Field(max_length=200)
    registered_on: date
    valid_until: date
    status: str = Field(max_length=16)
    batch_id: int | None = batch_field()
