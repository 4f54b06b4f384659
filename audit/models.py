"""The audit store's tables, in their own registry, so their own database.

`audit_record.payload` is the record exactly as hashed (canonical JSON); the other columns
copy parts of it for filtering, and `hub audit verify` checks that they still agree.
`audit_entity` indexes the entity keys each record disclosed (ID numbers as keyed hashes)
for the "who looked at me" report; it is derived from the payloads and checked too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime


class AuditTable(SQLModel, registry=registry()):
    """Base of the audit tables: their own metadata, so their own database."""


class AuditRecord(AuditTable, table=True):
    __tablename__ = "audit_record"
    __table_args__ = (Index("ix_audit_record_client_seq", "client_id", "seq"),)

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    request_id: str = Field(max_length=32, index=True)
    endpoint: str = Field(max_length=32)
    client_id: str | None = Field(default=None, max_length=64)
    agency: str | None = Field(default=None, max_length=64, index=True)
    purpose: str | None = Field(default=None, max_length=64, index=True)
    outcome: str = Field(max_length=16, index=True)
    payload: str = Field(sa_type=Text, description="the record as hashed: canonical JSON")
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, description="SHA-256 of prev_hash and payload")


class AuditEntity(AuditTable, table=True):
    __tablename__ = "audit_entity"
    __table_args__ = (Index("ix_audit_entity_seq", "seq"),)

    kind: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=100)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class AuditCheckpoint(AuditTable, table=True):
    """The chain head at `seq`, signed (a JWS) with one of the hub's signing keys."""

    __tablename__ = "audit_checkpoint"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    head_hash: str = Field(max_length=64)
    signed_at: datetime = Field(sa_type=UTCDateTime)
    kid: str = Field(max_length=64)
    signature: str = Field(sa_type=Text)


class AuditHead(AuditTable, table=True):
    """One row: where the chain ends, where it starts after an archive cut (the anchor),
    and the last checkpoint. Writers lock it to append, so several hub processes write one
    chain; the migration creates it."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True)
    seq: int = Field(sa_type=BigInteger)
    hash: str = Field(max_length=64)
    anchor_seq: int = Field(sa_type=BigInteger)
    anchor_hash: str = Field(max_length=64)
    checkpoint_seq: int = Field(sa_type=BigInteger)
    checkpoint_at: datetime = Field(sa_type=UTCDateTime)
