"""The audit log's settings block (`HUB_AUDIT_*`), which the store and the app use as they
are, and the witness's (`HUB_WITNESS_*`), for `hub witness serve` run by another party."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from audit.format import DEFAULT_ORIGIN
from audit.note import valid_name
from storage.keys import read_passphrase_file


class WitnessSetting(BaseModel):
    """One witness the log asks to cosign: where, and the key it cosigns with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(description="its submission prefix, e.g. https://witness.hr.example/audit")
    vkey: str = Field(description="its cosignature verifier key, `hub witness vkey`")


def _passphrase(secret: SecretStr | None, file: Path | None) -> bytes | None:
    if secret is not None and file is not None:
        raise ValueError("give the key's passphrase or its passphrase file, not both")
    if file is not None:
        return read_passphrase_file(file)
    return secret.get_secret_value().encode() if secret is not None else None


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
    origin: str = Field(
        default=DEFAULT_ORIGIN,
        description="The log's name, first line of its checkpoints and name of its key, "
        "e.g. `audit.hub.example/henan`; never changed once witnesses know it. Required in "
        "production.",
    )
    checkpoint_key_file: Path | None = Field(
        default=None,
        description="The log's Ed25519 checkpoint key (0600), the same on every hub process; "
        "`<data_dir>/keys/audit-checkpoint.key` when unset (created outside production).",
    )
    key_passphrase: SecretStr | None = Field(
        default=None, description="Passphrase the checkpoint key file is encrypted with."
    )
    key_passphrase_file: Path | None = Field(
        default=None, description="...or a 0600 file holding it."
    )
    log_vkeys: tuple[str, ...] = Field(
        default=(),
        description="Every checkpoint verifier key the log has used, retired ones too, as "
        "JSON; `hub audit verify` trusts these (the current key's when empty).",
    )
    checkpoint_every: int = Field(
        default=1_000, ge=1, description="Sign a checkpoint after this many records..."
    )
    checkpoint_seconds: float = Field(
        default=1.0,
        gt=0,
        description="...or once the last is this old: the longest a record waits to be "
        "signed and offered to the witnesses.",
    )
    witnesses: tuple[WitnessSetting, ...] = Field(
        default=(),
        description='Witnesses that cosign checkpoints, as JSON [{"url": …, "vkey": …}].',
    )
    witness_quorum: int = Field(
        default=1, ge=1, description="Cosignatures a checkpoint needs to count as witnessed."
    )
    witness_grace_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long records may stay unwitnessed before `hub audit verify` calls "
        "the log incomplete.",
    )
    witness_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Deadline of one request to a witness."
    )
    write_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Deadline of one group's write on PostgreSQL's one-statement path "
        "(connecting included): past it the group's requests are refused (503), not held "
        "for as long as a dead connection would hold them.",
    )
    group_wait_seconds: float = Field(
        default=0.002,
        ge=0,
        description="How long a group of records may wait for the records of requests still "
        "under way, when the process is busy with them: a group costs a database commit and "
        "a round trip whatever its size, so a busy hub writes fewer, larger ones. 0: every "
        "group is written at once.",
    )
    witness_before_answer: bool = Field(
        default=False,
        description="Strict mode: a request that discloses data is answered only once a "
        "quorum of witnesses has cosigned a checkpoint covering its record (else 503): no "
        "disclosure is ever in the unwitnessed window, at the cost of a witness round trip "
        "per such request.",
    )

    @field_validator("hash_key")
    @classmethod
    def _hash_key_is_long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value().encode()) < 16:
            raise ValueError("the audit hash key needs at least 16 bytes (`hub init` makes one)")
        return key

    @field_validator("origin")
    @classmethod
    def _origin_is_a_key_name(cls, origin: str) -> str:
        if not valid_name(origin):
            raise ValueError("the origin names the log's key: no spaces and no '+'")
        return origin

    @model_validator(mode="after")
    def _quorum_within_reach(self) -> AuditSettings:
        if self.witness_before_answer and not self.witnesses:
            raise ValueError("HUB_AUDIT_WITNESS_BEFORE_ANSWER needs HUB_AUDIT_WITNESSES")
        if self.witnesses and self.witness_quorum > len(self.witnesses):
            raise ValueError(
                f"HUB_AUDIT_WITNESS_QUORUM is {self.witness_quorum}, but only "
                f"{len(self.witnesses)} witness(es) are configured"
            )
        return self

    def passphrase(self) -> bytes | None:
        """The checkpoint key file's passphrase, if one is configured."""
        return _passphrase(self.key_passphrase, self.key_passphrase_file)

    def witness_names(self) -> list[str]:
        """Each witness's key name, the first field of its vkey."""
        return [witness.vkey.split("+", 1)[0] for witness in self.witnesses]

    def quorum(self) -> int:
        """Cosignatures needed: none without witnesses (a development log)."""
        return self.witness_quorum if self.witnesses else 0


class WitnessedLogSetting(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    origin: str
    vkeys: tuple[str, ...] = Field(description="the log's checkpoint verifier keys")


class WitnessSettings(BaseModel):
    """`hub witness serve`, run by a party that shares neither keys nor databases with the
    hub (`HUB_WITNESS_*`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(
        default="witness.invalid/audit",
        description="The witness's key name, e.g. `witness.hrss.example/audit`.",
    )
    key_file: Path | None = Field(
        default=None,
        description="Its Ed25519 cosigning key (0600); `<data_dir>/keys/witness.key` when "
        "unset (created on first use).",
    )
    key_passphrase: SecretStr | None = None
    key_passphrase_file: Path | None = None
    state_file: Path | None = Field(
        default=None,
        description="Its SQLite state (the last tree cosigned per log, refused "
        "checkpoints); `<data_dir>/witness/state.sqlite` when unset.",
    )
    logs: tuple[WitnessedLogSetting, ...] = Field(
        default=(),
        description='The logs it witnesses, as JSON [{"origin": …, "vkeys": […]}].',
    )

    @field_validator("name")
    @classmethod
    def _name_is_a_key_name(cls, name: str) -> str:
        if not valid_name(name):
            raise ValueError("a witness's name has no spaces and no '+'")
        return name

    def passphrase(self) -> bytes | None:
        return _passphrase(self.key_passphrase, self.key_passphrase_file)
