"""Human resources and social security bureau (人力资源社会保障): deposits, complaints,
blacklist, credit grades, work-injury insurance."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ingest.batches import ImportBatchFields, batch_field
from storage.columns import money_field


class HrRecord(SQLModel, registry=registry()):
    """Base of this agency's tables: its own metadata, so its own database."""


class ImportBatch(HrRecord, ImportBatchFields, table=True):
    """Every file the HR bureau sent (`ingest.batches`)."""

    __tablename__ = "hr_import_batch"


class WageDeposit(HrRecord, table=True):
    """Wage deposit 工资保证金 a contractor lodges for a project."""

    __tablename__ = "hr_wage_deposit"

    project_code: str = Field(primary_key=True, max_length=32)
    enterprise_uscc: str = Field(max_length=18, index=True)
    amount_fen: int = money_field("保证金金额, fen")
    status: str = Field(max_length=16)
    paid_on: date | None = None
    batch_id: int | None = batch_field()


class Complaint(HrRecord, table=True):
    """Arrears complaint 欠薪投诉 or labour-inspection case 劳动保障监察案件."""

    __tablename__ = "hr_complaint"

    complaint_no: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=16)
    enterprise_uscc: str = Field(max_length=18, index=True)
    project_code: str | None = Field(default=None, max_length=32, index=True)
    worker_id_number: str | None = Field(default=None, max_length=18, index=True)
    filed_on: date = Field(index=True)
    amount_fen: int = money_field("涉及金额, fen")
    status: str = Field(max_length=16)
    summary: str = Field(max_length=500)
    batch_id: int | None = batch_field()


class BlacklistEntry(HrRecord, table=True):
    """拖欠农民工工资失信联合惩戒对象名单 entry."""

    __tablename__ = "hr_blacklist_entry"

    decision_no: str = Field(primary_key=True, max_length=40)
    enterprise_uscc: str = Field(max_length=18, index=True)
    enterprise_name: str | None = Field(default=None, max_length=100)
    responsible_person: str = Field(max_length=50, index=True)
    responsible_id_number: str | None = Field(default=None, max_length=18)
    region_code: str | None = Field(default=None, max_length=6)
    arrears_fen: int | None = money_field("拖欠金额, fen", default=None)
    reason: str = Field(max_length=500)
    listed_on: date
    removed_on: date | None = None
    batch_id: int | None = batch_field()


class CreditGrade(HrRecord, table=True):
    """Employer labour-protection credit grade A/B/C/D."""

    __tablename__ = "hr_credit_grade"

    enterprise_uscc: str = Field(primary_key=True, max_length=18)
    grade: str = Field(max_length=1)
    assessed_on: date
    batch_id: int | None = batch_field()


class InjuryInsurance(HrRecord, table=True):
    """Project-based work-injury insurance 按项目参加工伤保险."""

    __tablename__ = "hr_injury_insurance"

    policy_no: str = Field(primary_key=True, max_length=32)
    project_code: str = Field(max_length=32, index=True)
    insured_from: date
    insured_to: date
    batch_id: int | None = batch_field()
