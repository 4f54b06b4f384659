"""The audit log's settings block (`HUB_AUDIT_*`), which the store and the app use as they are."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class AuditSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    enabled: bool = Field(
        default=True,
        description="Record every request before answering it (fail closed). Off only to "
        "measure what auditing costs: the hub then keeps no record of what it disclosed.",
    )
    hash_key: SecretStr | None = Field(
        default=None,
        description="Key (at least 16 bytes) of the keyed hashes that stand for ID numbers in "
        "the audit log; shared by every hub process. Required in production; elsewhere a "
        "key file is generated in the data directory.",
    )
    checkpoint_every: int = Field(
        default=1_000, ge=1, description="Sign a checkpoint after this many records..."
    )
    checkpoint_seconds: float = Field(
        default=60.0, gt=0, description="...or this long after the last one, if it is older."
    )
