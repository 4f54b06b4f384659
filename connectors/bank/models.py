"""Banks (银行): wage special accounts, labour-cost allocations, payroll disbursements."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from ingest.batches import ImportBatchFields, batch_field
from storage.columns import money_field


class BankRecord(SQLModel, registry=registry()):
    """Base of this agency's tables: its own metadata, so its own database."""


class ImportBatch(BankRecord, ImportBatchFields, table=True):
    """Every file the bank sent (`ingest.batches`)."""

    __tablename__ = "bank_import_batch"


class WageAccount(BankRecord, table=True):
    """农民工工资专用账户: one per project, opened by the general contractor."""

    __tablename__ = "bank_wage_account"

    account_no: str = Field(primary_key=True, max_length=32)
    bank_name: str = Field(max_length=100)
    project_code: str = Field(max_length=32, unique=True)
    holder_uscc: str = Field(max_length=18, index=True)
    opened_on: date
    status: str = Field(max_length=16)
    batch_id: int | None = batch_field()


class Allocation(BankRecord, table=True):
    """人工费用拨付: the builder's transfer of labour costs into the special account."""

    __tablename__ = "bank_allocation"
    __table_args__ = (
        UniqueConstraint(
            "account_no", "period", "transferred_on", name="uq_bank_allocation_natural"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_no: str = Field(max_length=32)
    payer_uscc: str = Field(max_length=18)
    period: date
    transferred_on: date
    amount_fen: int = money_field("拨付金额, fen")
    batch_id: int | None = batch_field()


class Disbursement(BankRecord, table=True):
    """Payroll paid on the contractor's behalf 代发工资: one worker, one pay period.

    `period` is the month the pay counts for; `pay_month` the payroll it came in. They
    differ for back pay (补发): October's payroll paying August's wages has pay_month
    October and period August, so August's wage position sees it."""

    __tablename__ = "bank_disbursement"
    __table_args__ = (
        Index("ix_bank_disbursement_project_period", "project_code", "period"),
        Index("ix_bank_disbursement_worker_period", "worker_id_number", "period"),
        UniqueConstraint(
            "project_code",
            "worker_id_number",
            "pay_month",
            "period",
            name="uq_bank_disbursement_natural",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_no: str = Field(max_length=32)
    project_code: str = Field(max_length=32)
    worker_id_number: str = Field(max_length=18)
    worker_name: str | None = Field(default=None, max_length=50)
    card_no: str = Field(max_length=32)
    pay_month: date = Field(description="the payroll's month (payMonth)")
    period: date = Field(description="the month the pay counts for (backPayMonth for back pay)")
    paid_on: date
    due_fen: int | None = money_field("应发金额, fen", default=None)
    amount_fen: int = money_field("代发金额, fen")
    status: str = Field(max_length=16)
    days: int | None = None
    is_back_pay: bool = False
    serial_no: str | None = Field(default=None, max_length=64, description="银行流水号")
    batch_id: int | None = batch_field()


class PayrollCard(BankRecord, table=True):
    """工资卡 (社会保障卡 with bank function) a worker is paid on."""

    __tablename__ = "bank_payroll_card"

    card_no: str = Field(primary_key=True, max_length=32)
    worker_id_number: str = Field(max_length=18, index=True)
    bank_name: str = Field(max_length=100)
    opened_on: date
    batch_id: int | None = batch_field()
