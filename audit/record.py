"""What one request leaves in the audit log, gathered while it runs.

The ASGI middleware opens an `AuditTrail` per request; the caller middleware, the token
endpoint and the GraphQL layer fill it in (who, which operation, what was disclosed);
`payload` turns it into the record that is hashed. Personal values never reach the
record in clear: ID numbers and free-text variables become keyed hashes (HMAC-SHA-256
with the hub's audit key). A plain hash would not do: an ID number has so little entropy
(region, birth date, three digits) that every candidate can be hashed in minutes.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)

from kernel import errors
from kernel.context import Disclosures
from kernel.errors import SIZE_LIMIT_CODES

RECORD_VERSION: Final = 1
KEYED: Final = "hmac:"
"""Prefix of a keyed hash in a record, so a reader never mistakes one for a value."""
DOCUMENT_ENTITY: Final = "PDF"
"""The entity kind under which a produced file's SHA-256 is indexed."""
HASHED_ENTITIES: Final = frozenset({"Worker"})
"""Entities whose key is personal (the ID number): recorded as keyed hashes."""
CLEAR_SCALARS: Final = frozenset(
    {
        "Int",
        "Float",
        "Boolean",
        "USCC",
        "CaseNumber",
        "Date",
        "DateTime",
        "YearMonth",
        "Fen",
        "RegionCodePrefix",
    }
)
"""Variable types whose values identify no person and stay readable in the record;
every other string (String, ID, IdNumber, custom scalars) is hashed: default deny."""

OK: Final = "ok"
PARTIAL: Final = "partial"
DENIED: Final = "denied"
INVALID: Final = "invalid"
ERROR: Final = "error"

_DENIED_CODES: Final = SIZE_LIMIT_CODES | {
    errors.FORBIDDEN,
    errors.INVALID_TOKEN,
    "UNAUTHENTICATED",
    errors.INTROSPECTION_DISABLED,
    errors.TRUSTED_DOCUMENT_REQUIRED,
}
_ERROR_CODES: Final = frozenset(
    {
        errors.INTERNAL_SERVER_ERROR,
        errors.REQUEST_TIMEOUT,
        errors.CONNECTOR_UNAVAILABLE,
        errors.CONNECTOR_TIMEOUT,
    }
)


ID_NUMBER_SHAPED: Final = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){14,}[Xx]?(?![0-9])")
"""Fifteen digits or more in a run, perhaps grouped by spaces or hyphens, perhaps ending
in X: an ID number of either generation as people write one, or a longer number one
could hide in (replaced whole). Over-eager by design: a project code in a reference is
hashed too, and an auditor who knows it can still find it by its hash."""


class SubjectHasher:
    """Keyed hashes of personal values; the same value always gives the same hash, so the
    "who looked at me" report finds a worker's records without the log holding the ID."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the audit hash key needs at least 16 bytes")
        # HMAC-SHA-256 (RFC 2104) with the padded keys' first block hashed once: each
        # value then costs two hash states copied, not the key schedule again (an import
        # hashes a million ID numbers; `hmac.digest` took 2.5 times as long).
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def __call__(self, value: str) -> str:
        inner = self._inner.copy()
        inner.update(value.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return KEYED + outer.hexdigest()

    def reference(self, text: str | None) -> str | None:
        """A purpose reference as the audit log keeps it: the caller's words, each ID
        number in them (anything shaped like one) replaced by its keyed hash, so an
        access report finds it but the log does not hold it."""
        if text is None:
            return None
        return ID_NUMBER_SHAPED.sub(lambda found: self(re.sub(r"[ -]", "", found[0]).upper()), text)

    def entity_key(self, kind: str, key: str) -> str:
        return self(key) if kind in HASHED_ENTITIES else key

    def entity_keys(self) -> dict[str, Callable[[str], str]]:
        """The kinds whose keys are stored hashed, each with this hasher (an import's
        engine stages its entities' keys so)."""
        return dict.fromkeys(HASHED_ENTITIES, self)

    def variables(self, values: Any, graphql_type: GraphQLInputType | None) -> Any:
        """The variable's value with every personal string replaced by its keyed hash,
        walked along its declared type (unknown types: every string hashed)."""
        if isinstance(graphql_type, GraphQLNonNull):
            return self.variables(values, graphql_type.of_type)
        if values is None:
            return None
        if isinstance(values, list):
            inner = graphql_type.of_type if isinstance(graphql_type, GraphQLList) else None
            return [self.variables(value, inner) for value in values]
        if isinstance(values, dict):
            fields = graphql_type.fields if isinstance(graphql_type, GraphQLInputObjectType) else {}
            return {
                name: self.variables(value, fields[name].type if name in fields else None)
                for name, value in values.items()
            }
        if not isinstance(values, str):
            return values
        if isinstance(graphql_type, GraphQLEnumType):
            return values
        if isinstance(graphql_type, GraphQLScalarType) and graphql_type.name in CLEAR_SCALARS:
            return values
        return self(values)


def outcome_of(codes: Iterable[str], disclosed: bool) -> str:
    """ok: no error. partial: something was disclosed and something refused or failed.
    Otherwise the worst kind of error decides: error (the hub or an agency failed),
    denied (a scope, a purpose, a limit), invalid (the request itself was wrong)."""
    found = set(codes)
    if not found:
        return OK
    if disclosed:
        return PARTIAL
    if found & _ERROR_CODES:
        return ERROR
    if found & _DENIED_CODES:
        return DENIED
    return INVALID


def outcome_of_status(status: int) -> str:
    """A request refused or failed before GraphQL ran, by its HTTP status."""
    if status < 400:
        return OK
    if status in (401, 403, 429):
        return DENIED
    if status >= 500:
        return ERROR
    return INVALID


@dataclass
class Operation:
    name: str | None
    type: str | None
    document_sha256: str | None
    variables: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "document_sha256": self.document_sha256,
            "variables": self.variables,
        }


@dataclass
class AuditTrail:
    """One request, from arrival to the response's last byte."""

    endpoint: str
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.perf_counter)
    disclosures: Disclosures = field(default_factory=Disclosures)
    operations: list[Operation] = field(default_factory=list)
    codes: set[str] = field(default_factory=set)
    documents: list[dict[str, str]] = field(default_factory=list)
    """Files the request produced (a dossier PDF): kind, SHA-256 of the file and of the
    content it renders; each file's hash is indexed as an entity `PDF`, so `hub desk
    verify-pdf` finds its record."""
    graphql_done: bool = False
    """Set once the GraphQL layer has classified every operation (else the middleware
    reads the error codes from the response body, e.g. after a timeout)."""

    def payload(
        self,
        *,
        hasher: SubjectHasher,
        client_id: str | None,
        agency: str | None,
        user: str | None = None,
        actors: tuple[str, ...] = (),
        purpose: str | None,
        purpose_reference: str | None,
        outcome: str,
        status: int,
        response_bytes: int,
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The record's content (without seq, which the writer assigns) and its entity
        keys as stored (ID numbers hashed)."""
        disclosures = self.disclosures
        entities = sorted(
            {(kind, hasher.entity_key(kind, key)) for kind, key in disclosures.entities}
            | {(DOCUMENT_ENTITY, document["sha256"]) for document in self.documents}
        )
        scopes = sorted({scope for needed in disclosures.fields.values() for scope in needed})
        content = {
            "v": RECORD_VERSION,
            "at": self.at.isoformat(),
            "request_id": self.request_id,
            "endpoint": self.endpoint,
            "client_id": client_id,
            "agency": agency,
            **({"user": user} if user is not None else {}),
            **({"via": list(actors)} if actors else {}),
            "purpose": purpose,
            "purpose_reference": hasher.reference(purpose_reference),
            "operations": [operation.as_json() for operation in self.operations],
            "fields": sorted(f"{t}.{f}" for t, f in disclosures.fields),
            "scopes": scopes,
            "masked": sorted(f"{t}.{f}" for t, f in disclosures.masked),
            "denied": sorted(f"{t}.{f}" for t, f in disclosures.denied),
            "entities": [list(entity) for entity in entities],
            "outcome": outcome,
            "codes": sorted(self.codes),
            "status": status,
            "response_bytes": response_bytes,
            **({"documents": self.documents} if self.documents else {}),
            "latency_ms": round((time.perf_counter() - self.started) * 1000, 3),
        }
        return content, entities
