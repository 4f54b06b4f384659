"""The audit store's tables, in their own registry, so their own database.

`audit_record.payload` is the record exactly as hashed into the tree (canonical JSON);
`tree_hashes` the Merkle hashes its append completed (`audit.merkle`: the leaf first,
then the perfect subtrees it closed, 32 bytes each). The other columns copy parts of the
payload for filtering, and `hub audit verify` checks that they still agree.
`audit_entity` indexes the entity keys each record disclosed (ID numbers as keyed hashes)
for the "who looked at me" report; it is derived from the payloads and checked too.

`audit_checkpoint` holds the signed tree heads, `audit_cosignature` the witnesses'
cosignatures of them, `audit_witness` the cosigner's view of each witness (how far it
has cosigned, its last error, who is talking to it now).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text
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
    tree_hashes: bytes = Field(
        sa_type=LargeBinary, description="the Merkle hashes its append completed, leaf first"
    )


class AuditEntity(AuditTable, table=True):
    __tablename__ = "audit_entity"
    __table_args__ = (Index("ix_audit_entity_seq", "seq"),)

    kind: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=100)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class AuditCheckpoint(AuditTable, table=True):
    """The tree head of the first `size` records, signed by the log's checkpoint key (a
    C2SP signed note, as witnesses receive it)."""

    __tablename__ = "audit_checkpoint"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_type=LargeBinary)
    note: str = Field(sa_type=Text)
    signed_at: datetime = Field(sa_type=UTCDateTime)


class AuditCosignature(AuditTable, table=True):
    """A witness's cosignature line on the checkpoint of `size`."""

    __tablename__ = "audit_cosignature"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    witness: str = Field(primary_key=True, max_length=200, description="its key name")
    key_id: str = Field(max_length=8)
    cosigned_at: datetime = Field(sa_type=UTCDateTime)
    line: str = Field(sa_type=Text)


class AuditWitness(AuditTable, table=True):
    """The cosigner's state for one witness, shared by every hub process: the size it
    last cosigned (None: not known yet), its last error and when to try again, and a
    lease so that one process at a time talks to it."""

    __tablename__ = "audit_witness"

    name: str = Field(primary_key=True, max_length=200)
    url: str = Field(max_length=500)
    size: int | None = Field(default=None, sa_type=BigInteger)
    last_error: str | None = Field(default=None, sa_type=Text)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failures: int = Field(default=0)
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditHead(AuditTable, table=True):
    """One row: where the log ends (its size and Merkle frontier), where it starts after
    an archive cut (the anchor), and the last checkpoint. Writers lock it to append, so
    several hub processes write one log; the migration creates it."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True)
    seq: int = Field(sa_type=BigInteger)
    frontier: bytes = Field(sa_type=LargeBinary)
    anchor_seq: int = Field(sa_type=BigInteger)
    anchor_frontier: bytes = Field(sa_type=LargeBinary)
    checkpoint_seq: int = Field(sa_type=BigInteger)
    checkpoint_at: datetime = Field(sa_type=UTCDateTime)
