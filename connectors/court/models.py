"""Courts and mediation committees (法院 / 调解组织): wage dispute cases."""

from __future__ import annotations

from datetime import date

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ingest.batches import ImportBatchFields, batch_field
from storage.columns import money_field


class CourtRecord(SQLModel, registry=registry()):
    """Base of this agency's tables: its own metadata, so its own database."""


class ImportBatch(CourtRecord, ImportBatchFields, table=True):
    """Every file a court or mediation committee sent (`ingest.batches`)."""

    __tablename__ = "court_import_batch"


class DisputeCase(CourtRecord, table=True):
    __tablename__ = "court_dispute_case"

    case_number: str = Field(primary_key=True, max_length=40)
    court_name: str = Field(max_length=100)
    court_code: str = Field(max_length=8, index=True)
    region_code: str = Field(max_length=6, index=True)
    kind: str = Field(max_length=24)
    cause: str = Field(max_length=50)
    claim_amount_fen: int = money_field("诉请金额, fen")
    status: str = Field(max_length=16, index=True)
    filed_on: date = Field(index=True)
    closed_on: date | None = None
    project_code: str | None = Field(default=None, max_length=32, index=True)
    disputed_from: date
    disputed_to: date
    batch_id: int | None = batch_field()


class CaseParty(CourtRecord, table=True):
    """A party to a case: a worker (by ID number) or an enterprise (by USCC)."""

    __tablename__ = "court_case_party"
    __table_args__ = (
        UniqueConstraint("case_number", "party_key", name="uq_court_case_party_natural"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_number: str = Field(max_length=40, index=True)
    role: str = Field(max_length=16)
    name: str = Field(max_length=200)
    id_number: str | None = Field(default=None, max_length=18, index=True)
    uscc: str | None = Field(default=None, max_length=18, index=True)
    party_key: str = Field(
        max_length=200, description="who the party is within the case: ID number, USCC or name"
    )
    batch_id: int | None = batch_field()


class Mediation(CourtRecord, table=True):
    """A mediation session 调解记录 held by a committee on a case."""

    __tablename__ = "court_mediation"
    __table_args__ = (
        UniqueConstraint("case_number", "held_on", "committee", name="uq_court_mediation_natural"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_number: str = Field(max_length=40, index=True)
    committee: str = Field(max_length=100)
    mediator: str = Field(max_length=50)
    held_on: date
    outcome: str = Field(max_length=16)
    agreed_amount_fen: int | None = money_field("调解协议金额, fen", default=None)
    batch_id: int | None = batch_field()


class Judgment(CourtRecord, table=True):
    """Judgment and its enforcement 判决与执行."""

    __tablename__ = "court_judgment"

    case_number: str = Field(primary_key=True, max_length=40)
    judged_on: date
    awarded_amount_fen: int = money_field("判决金额, fen")
    enforced_amount_fen: int = money_field("已执行金额, fen")
    summary: str = Field(max_length=500)
    batch_id: int | None = batch_field()
