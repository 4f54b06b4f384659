"""Banks (银行): wage special accounts, labour-cost allocations, payroll disbursements."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from storage.columns import money_field


class BankRecord(SQLModel, registry=registry()):
    """Base of this agency's tables: its own metadata, so its own database."""


class WageAccount(BankRecord, table=True):
    """农民工工资专用账户: one per project, opened by the general contractor."""

    __tablename__ = "bank_wage_account"

    account_no: str = Field(primary_key=True, max_length=32)
    bank_name: str = Field(max_length=100)
    project_code: str = Field(max_length=32, unique=True)
    holder_uscc: str = Field(max_length=18, index=True)
    opened_on: date
    status: str = Field(max_length=16)


class Allocation(BankRecord, table=True):
    """人工费用拨付: the builder's transfer of labour costs into the special account."""

    __tablename__ = "bank_allocation"
    __table_args__ = (Index("ix_bank_allocation_account_period", "account_no", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    account_no: str = Field(max_length=32)
    payer_uscc: str = Field(max_length=18)
    period: date
    transferred_on: date
    amount_fen: int = money_field("拨付金额, fen")


class Disbursement(BankRecord, table=True):
    """Payroll paid on the contractor's behalf 代发工资: one worker, one pay period."""

    __tablename__ = "bank_disbursement"
    __table_args__ = (
        Index("ix_bank_disbursement_project_period", "project_code", "period"),
        Index("ix_bank_disbursement_worker_period", "worker_id_number", "period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_no: str = Field(max_length=32)
    project_code: str = Field(max_length=32)
    worker_id_number: str = Field(max_length=18)
    card_no: str = Field(max_length=32)
    period: date
    paid_on: date
    amount_fen: int = money_field("代发金额, fen")
    status: str = Field(max_length=16)


class PayrollCard(BankRecord, table=True):
    """工资卡 (社会保障卡 with bank function) a worker is paid on."""

    __tablename__ = "bank_payroll_card"

    card_no: str = Field(primary_key=True, max_length=32)
    worker_id_number: str = Field(max_length=18, index=True)
    bank_name: str = Field(max_length=100)
    opened_on: date
