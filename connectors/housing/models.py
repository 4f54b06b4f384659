"""Housing and construction bureau (住房城乡建设): the real-name platform's tables."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ingest.batches import ImportBatchFields, batch_field
from storage.columns import money_field


class HousingRecord(SQLModel, registry=registry()):
    """Base of this agency's tables: its own metadata, so its own database."""


class ImportBatch(HousingRecord, ImportBatchFields, table=True):
    """Every file the housing bureau sent (`ingest.batches`)."""

    __tablename__ = "housing_import_batch"


class Enterprise(HousingRecord, table=True):
    __tablename__ = "housing_enterprise"

    uscc: str = Field(primary_key=True, max_length=18)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32, index=True)
    region_code: str = Field(max_length=6, index=True)
    qualification: str | None = Field(default=None, max_length=100)
    credit_score: int
    legal_representative: str = Field(max_length=50)
    batch_id: int | None = batch_field()


class Project(HousingRecord, table=True):
    __tablename__ = "housing_project"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    region_code: str = Field(max_length=6, index=True)
    builder_uscc: str = Field(max_length=18, index=True)
    contractor_uscc: str = Field(max_length=18, index=True)
    contract_price_fen: int = money_field("合同价款, fen")
    start_date: date = Field(index=True)
    planned_end_date: date
    status: str = Field(max_length=24, index=True)
    rights_notice_board: bool
    payment_guarantee: bool
    batch_id: int | None = batch_field()


class Worker(HousingRecord, table=True):
    __tablename__ = "housing_worker"

    id_number: str = Field(primary_key=True, max_length=18)
    name: str = Field(max_length=50)
    registered_on: date
    batch_id: int | None = batch_field()


class Registration(HousingRecord, table=True):
    """Real-name registration 实名制登记: a worker on a project for an employer, in a team."""

    __tablename__ = "housing_registration"
    __table_args__ = (
        UniqueConstraint(
            "project_code", "worker_id_number", "entry_date", name="uq_housing_registration_natural"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    worker_id_number: str = Field(max_length=18, index=True)
    project_code: str = Field(max_length=32, index=True)
    employer_uscc: str = Field(max_length=18, index=True)
    team: str = Field(max_length=50)
    trade: str = Field(max_length=20)
    entry_date: date
    exit_date: date | None = None
    batch_id: int | None = batch_field()


class AttendanceMonth(HousingRecord, table=True):
    """A worker's real-name attendance on one project in one month; bit d-1 of
    `day_mask` is set when the worker clocked in on day d."""

    __tablename__ = "housing_attendance_month"
    __table_args__ = (Index("ix_housing_attendance_project_month", "project_code", "month"),)

    worker_id_number: str = Field(primary_key=True, max_length=18)
    project_code: str = Field(primary_key=True, max_length=32)
    month: date = Field(primary_key=True)
    days_present: int
    day_mask: int
    batch_id: int | None = batch_field()


class LabourContract(HousingRecord, table=True):
    """Electronic labour contract 电子劳动合同."""

    __tablename__ = "housing_labour_contract"

    contract_no: str = Field(primary_key=True, max_length=32)
    worker_id_number: str = Field(max_length=18, index=True)
    project_code: str = Field(max_length=32, index=True)
    employer_uscc: str = Field(max_length=18)
    signed_on: date
    start_date: date
    end_date: date | None = None
    daily_wage_fen: int = money_field("日工资, fen")
    pay_day: int = Field(description="day of the month wages fall due")
    batch_id: int | None = batch_field()


class SkillCertificate(HousingRecord, table=True):
    __tablename__ = "housing_skill_certificate"

    certificate_no: str = Field(primary_key=True, max_length=32)
    worker_id_number: str = Field(max_length=18, index=True)
    trade: str = Field(max_length=20)
    level: str = Field(max_length=10)
    issued_on: date
    expires_on: date
    batch_id: int | None = batch_field()


class Team(HousingRecord, table=True):
    """A team 班组 of an employer on a project, as the national interface's `Team.Add`
    sends it; its id is the `teamSysNo` the interface answers with."""

    __tablename__ = "housing_team"
    __table_args__ = (
        UniqueConstraint("project_code", "employer_uscc", "name", name="uq_housing_team_natural"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(max_length=32, index=True)
    employer_uscc: str = Field(max_length=18)
    name: str = Field(max_length=50)
    leader_name: str | None = Field(default=None, max_length=50)
    leader_phone: str | None = Field(default=None, max_length=20)
    leader_id_number: str | None = Field(default=None, max_length=18)
    entry_date: date | None = None
    exit_date: date | None = None
    batch_id: int | None = batch_field()


class ProjectWorker(HousingRecord, table=True):
    """A worker on a project's roster 项目人员 (`ProjectWorker.Add`): employer, team and
    trade; the entries and exits (`WorkerEntryExit.Add`) make the registrations."""

    __tablename__ = "housing_project_worker"

    project_code: str = Field(primary_key=True, max_length=32)
    worker_id_number: str = Field(primary_key=True, max_length=18)
    employer_uscc: str = Field(max_length=18)
    team: str = Field(max_length=50)
    trade: str = Field(max_length=20)
    is_team_leader: bool | None = None
    batch_id: int | None = batch_field()
