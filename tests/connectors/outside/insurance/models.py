"""The fund's table: which enterprises it insures."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class InsuranceRecord(SQLModel, registry=registry()):
    """Base of this agency's tables: its own metadata, so its own database."""


class Policy(InsuranceRecord, table=True):
    __tablename__ = "insurance_policy"

    policy_no: str = Field(primary_key=True, max_length=32)
    fund_code: str = Field(max_length=16, index=True)
    enterprise_uscc: str = Field(max_length=18, index=True)
    insured_from: date
    insured_workers: int
