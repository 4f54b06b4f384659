"""audit log as a Merkle tree: records keep their tree hashes, the head its frontier;
checkpoints become signed notes, cosigned by witnesses

Revision ID: 5c1e2d7a9b04
Revises: 378a29cba9e2
Create Date: 2026-12-10 00:00:00.000000

An existing hash chain is converted in place: each record's links are checked as it is
read (a broken chain is refused, not laundered into a tree), its leaf and tree hashes are
computed from its payload, and the head gets the frontier. The old checkpoints (JWS by
the token-signing key, which no longer vouches for the log) are dropped; the writer signs
the converted tree at once with the checkpoint key. A log cut by an archive under the old
format cannot be converted (the tree needs every leaf from the first): archive all of it
with the old version and start afresh.
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e2d7a9b04"
down_revision: str | Sequence[str] | None = "378a29cba9e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
CHUNK = 5_000

record = sa.table(
    "audit_record",
    sa.column("seq", sa.BigInteger()),
    sa.column("payload", sa.Text()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
    sa.column("tree_hashes", sa.LargeBinary()),
)
head = sa.table(
    "audit_head",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.BigInteger()),
    sa.column("anchor_seq", sa.BigInteger()),
    sa.column("frontier", sa.LargeBinary()),
    sa.column("anchor_frontier", sa.LargeBinary()),
    sa.column("checkpoint_seq", sa.BigInteger()),
    sa.column("checkpoint_at", sa.DateTime(timezone=True)),
)


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _append(frontier: list[bytes], size: int, leaf: bytes) -> bytes:
    """RFC 9162's tree, appended to: returns the hashes the leaf completed, leaf first
    (as `audit.merkle.Frontier.append`, restated so the revision imports no app code)."""
    done = [leaf]
    while size & 1:
        done.append(_node(frontier.pop(), done[-1]))
        size >>= 1
    frontier.append(done[-1])
    return b"".join(done)


def _convert(connection: sa.Connection) -> tuple[int, bytes]:
    """Tree hashes for every record, checked link by link; the head's size and frontier."""
    state = connection.execute(sa.select(head.c.seq, head.c.anchor_seq)).one()
    if state.anchor_seq:
        raise RuntimeError(
            "the audit log was archived under the hash-chain format (records start at "
            f"{state.anchor_seq + 1}): archive the rest with the previous version, then "
            "recreate the audit database"
        )
    frontier: list[bytes] = []
    size, prev = 0, GENESIS
    while True:
        rows = connection.execute(
            sa.select(record.c.seq, record.c.payload, record.c.prev_hash, record.c.hash)
            .where(record.c.seq > size)
            .order_by(record.c.seq)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        for row in rows:
            linked = hashlib.sha256(f"{prev}\n{row.payload}".encode()).hexdigest()
            if row.seq != size + 1 or row.prev_hash != prev or row.hash != linked:
                raise RuntimeError(
                    f"audit record {row.seq} does not verify in the old chain: run "
                    "`hub audit verify` with the previous version and settle it first"
                )
            leaf = hashlib.sha256(b"\x00" + row.payload.encode()).digest()
            connection.execute(
                record.update()
                .where(record.c.seq == row.seq)
                .values(tree_hashes=_append(frontier, size, leaf))
            )
            size, prev = row.seq, row.hash
    if size != state.seq:
        raise RuntimeError(f"the audit head says {state.seq} records, the table holds {size}")
    return size, b"".join(frontier)


def upgrade() -> None:
    op.drop_table("audit_checkpoint")
    op.create_table(
        "audit_checkpoint",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    op.create_table(
        "audit_cosignature",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("cosigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness"),
    )
    op.create_table(
        "audit_witness",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tree_hashes", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frontier", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("anchor_frontier", sa.LargeBinary(), nullable=True))

    size, frontier = _convert(op.get_bind())
    op.execute(
        head.update().values(
            frontier=frontier,
            anchor_frontier=b"",
            checkpoint_seq=0,
            # a converted log: long ago, so the writer signs it with its first batch
            checkpoint_at=datetime(2000, 1, 1, tzinfo=UTC) if size else datetime.now(UTC),
        )
    )

    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.alter_column("tree_hashes", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("hash")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.alter_column("frontier", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("anchor_frontier", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("hash")
        batch_op.drop_column("anchor_hash")


def downgrade() -> None:
    raise NotImplementedError(
        "the Merkle-tree audit log cannot go back to the hash chain: its checkpoints are "
        "signed notes the old version cannot read; restore a backup instead"
    )
