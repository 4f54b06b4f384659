"""The warnings block (`HUB_ALERTS_*`): delivery, retries, work-order deadlines."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from alerts.kinds import Kind


class AlertSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    evaluate_after_import: bool = Field(
        default=True,
        description="Evaluate the warning rules after every applied import or push.",
    )
    dispatch: bool = Field(
        default=True,
        description="`hub serve` runs a webhook dispatcher in each process (several share "
        "the queue safely); off when `hub webhooks dispatch` runs apart.",
    )
    max_attempts: int = Field(
        default=8, ge=1, description="Attempts before a delivery is dead-lettered."
    )
    backoff_seconds: float = Field(
        default=5.0, gt=0, description="Delay after the first failure; doubled each time."
    )
    max_backoff_seconds: float = Field(default=3600.0, gt=0, description="The longest delay.")
    timeout_seconds: float = Field(
        default=10.0, gt=0, description="One delivery's deadline (connect, send, answer)."
    )
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a dispatcher holds a delivery it claimed; a dispatcher that "
        "dies leaves it to another after this. Longer than the timeout.",
    )
    concurrency: int = Field(default=16, ge=1, description="Deliveries in flight per process.")
    per_receiver: int = Field(
        default=2,
        ge=1,
        description="Deliveries in flight per subscription and process: a slow receiver "
        "holds at most this many of the slots.",
    )
    poll_seconds: float = Field(default=0.5, gt=0, description="Idle dispatcher's poll interval.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="The key every subscription's signing secret is derived from (HMAC of "
        "its id), so the warnings database holds no secret; every hub process must share "
        "it. Unset: a random key kept 0600 in the data directory (keys/webhook.key).",
    )
    deadlines: dict[Kind, int] = Field(
        default_factory=lambda: {kind: kind.default_deadline for kind in Kind},
        description="Working days to handle a work order, per event kind, as JSON "
        '{"PROJECT_WARNING": 3, …}; an overdue order escalates a level.',
    )

    stream_key: str = Field(
        default="hub:alerts:deliveries",
        min_length=1,
        description="With HUB_REDIS_URL set, deliveries are queued on this Redis Stream "
        "(consumer group `dispatchers`; the key + `:relay` locks its relay); two hubs "
        "sharing one Redis need different keys.",
    )
    holidays_file: Path | None = Field(
        default=None,
        description="An operator's holiday calendar (TOML, the format of "
        "alerts/holidays/2026.toml) added to the State Council's that the hub ships: a "
        "province's local days off, or a year the hub has none for. Deadlines count "
        "working days by it; a year without a calendar counts Monday to Friday.",
    )

    @model_validator(mode="after")
    def _lease_outlives_timeout(self) -> AlertSettings:
        if self.lease_seconds <= self.timeout_seconds:
            raise ValueError("HUB_ALERTS_LEASE_SECONDS must exceed HUB_ALERTS_TIMEOUT_SECONDS")
        return self

    def deadline_days(self, kind: Kind) -> int:
        return self.deadlines.get(kind, kind.default_deadline)
