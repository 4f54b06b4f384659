"""Reading the audit log through the graph: `auditEvents` for auditors (`audit:read`) and
`accessReport` for a worker asking who looked at their records (`audit:subject`, after
Estonia's data tracker). Both requests are audited like any other."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from audit.record import DENIED, ERROR, INVALID, OK, PARTIAL, SubjectHasher
from audit.store import AuditStore, EventFilter
from kernel.access import caller_of, scoped, scoped_resolver, scoped_type
from kernel.composition import GraphContribution
from kernel.context import Info
from kernel.errors import BadUserInput, Forbidden
from kernel.identifiers import (
    InvalidIdentifier,
    mask_id_number,
    validate_case_number,
    validate_id_number,
    validate_uscc,
)
from kernel.pagination import Connection, open_page
from kernel.scalars import IdNumber
from kernel.scopes import AUDIT_READ, AUDIT_SUBJECT, WORKER_IDENTITY, scope_label


@strawberry.enum(
    description="ok; partial (some data, some refusals); denied (a scope, purpose or limit); "
    "invalid (the request was malformed); error (the hub or an agency failed)"
)
class AuditOutcome(Enum):
    OK = OK
    PARTIAL = PARTIAL
    DENIED = DENIED
    INVALID = INVALID
    ERROR = ERROR


class AuditReader:
    """The audit store and the key hashing ID numbers, for this request's resolvers."""

    def __init__(self, store: AuditStore, hasher: SubjectHasher) -> None:
        self.store = store
        self.hasher = hasher

    def entity_of(self, key: str) -> tuple[str, str]:
        """An entity key as recorded: a valid ID number hashed, else the key kind whose
        checksum or format it passes (a project code otherwise)."""
        for kind, validate in (
            ("Worker", validate_id_number),
            ("Enterprise", validate_uscc),
            ("DisputeCase", validate_case_number),
        ):
            try:
                return kind, self.hasher.entity_key(kind, validate(key))
            except InvalidIdentifier:
                continue
        return "Project", key


def reader_of(info: Info) -> AuditReader:
    return info.context.loaders(AuditReader)


@scoped_type(AUDIT_READ)
@strawberry.type(description="The operation a request ran.")
class AuditOperation:
    name: str | None
    type: str | None = strawberry.field(description="query or mutation")
    document_sha256: str | None = strawberry.field(
        description="SHA-256 of the normalised query document"
    )
    variables: JSON = strawberry.field(description="personal values as keyed hashes (hmac:…)")


@scoped_type(AUDIT_READ)
@strawberry.type(
    description="An entity a request disclosed; a worker by the keyed hash of the ID number."
)
class AuditEntityKey:
    kind: str
    key: str


@scoped_type(AUDIT_READ)
@strawberry.type(description="审计记录: one request to the hub, as the audit log holds it.")
class AuditEvent:
    sequence: int
    at: datetime
    request_id: str
    endpoint: str
    client_id: str | None
    agency: str | None
    user: str | None = strawberry.field(
        description="the person acting through the client (a web desk account), if any"
    )
    purpose: str | None
    purpose_reference: str | None
    outcome: AuditOutcome
    codes: list[str] = strawberry.field(description="error codes the response carried")
    http_status: int
    response_bytes: int
    latency_ms: float
    operations: list[AuditOperation]
    fields_read: list[str] = strawberry.field(description="field coordinates resolved")
    fields_masked: list[str]
    fields_denied: list[str]
    entities: list[AuditEntityKey]
    hash: str = strawberry.field(
        description="the record's leaf hash in the log's Merkle tree, SHA-256(0x00 || record)"
    )

    @classmethod
    def from_row(cls, row: Any) -> AuditEvent:
        content = json.loads(row.payload)
        return cls(
            sequence=row.seq,
            at=datetime.fromisoformat(content["at"]),
            request_id=content["request_id"],
            endpoint=content["endpoint"],
            client_id=content["client_id"],
            agency=content["agency"],
            user=content.get("user"),
            purpose=content["purpose"],
            purpose_reference=content["purpose_reference"],
            outcome=AuditOutcome(content["outcome"]),
            codes=content["codes"],
            http_status=content["status"],
            response_bytes=content["response_bytes"],
            latency_ms=content["latency_ms"],
            operations=[AuditOperation(**operation) for operation in content["operations"]],
            fields_read=content["fields"],
            fields_masked=content["masked"],
            fields_denied=content["denied"],
            entities=[AuditEntityKey(kind=kind, key=key) for kind, key in content["entities"]],
            hash=bytes(row.tree_hashes[:32]).hex(),
        )


@strawberry.input(description="All given conditions must hold.")
class AuditEventFilter:
    client: str | None = None
    agency: str | None = None
    purpose: str | None = None
    outcome: AuditOutcome | None = None
    entity_key: str | None = strawberry.field(
        default=None,
        description="an ID number, USCC, case number or project code the request disclosed",
    )
    since: datetime | None = strawberry.field(default=None, name="from")
    until: datetime | None = strawberry.field(default=None, name="to")


@scoped_type(AUDIT_SUBJECT)
@strawberry.type(description="One time an agency saw the worker's records.")
class Disclosure:
    at: datetime
    agency: str | None
    client_id: str | None
    purpose: str | None
    purpose_reference: str | None
    kinds: list[str] = strawberry.field(
        description="what kinds of data the request read, e.g. 居住登记 (worker:residence)"
    )
    request_id: str

    @classmethod
    def from_row(cls, row: Any) -> Disclosure:
        content = json.loads(row.payload)
        return cls(
            at=datetime.fromisoformat(content["at"]),
            agency=content["agency"],
            client_id=content["client_id"],
            purpose=content["purpose"],
            purpose_reference=content["purpose_reference"],
            kinds=[f"{scope_label(scope)} ({scope})" for scope in content["scopes"]],
            request_id=content["request_id"],
        )


@strawberry.type(description="查询记录: who disclosed one worker's records, newest first.")
class AccessReport:
    subject: str = scoped(AUDIT_SUBJECT, description="the worker's ID number, masked")
    disclosures: Connection[Disclosure] = scoped(AUDIT_SUBJECT)


def _filter(reader: AuditReader, given: AuditEventFilter | None) -> EventFilter:
    if given is None:
        return EventFilter()
    if given.since and given.until and given.since >= given.until:
        raise BadUserInput("from must be before to")
    return EventFilter(
        client_id=given.client,
        agency=given.agency,
        purpose=given.purpose,
        outcome=given.outcome.value if given.outcome else None,
        entity=reader.entity_of(given.entity_key) if given.entity_key else None,
        since=given.since,
        until=given.until,
    )


async def _page(
    info: Info, where: EventFilter, first: int | None, after: str | None, node: Any
) -> Connection[Any]:
    reader = reader_of(info)
    page = open_page(info, first, after)
    before = int(page.after) if page.after and page.after.isdigit() else None
    if page.after and before is None:
        raise BadUserInput("this cursor is not an audit cursor")
    rows = await reader.store.events(where, before, page.size + 1)
    return page.connection(
        [(str(row.seq), node(row)) for row in rows], lambda: reader.store.count(where)
    )


@strawberry.type
class AuditQuery:
    @scoped_resolver(AUDIT_READ, description="审计日志: audit records, newest first (auditors).")
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEvent] | None:
        where = _filter(reader_of(info), filter)
        if (
            where.entity
            and where.entity[0] == "Worker"
            and not caller_of(info).has(WORKER_IDENTITY)
        ):
            raise Forbidden(
                f"filtering by a worker's ID number needs scope {WORKER_IDENTITY}",
                missingScopes=[WORKER_IDENTITY],
            )
        return await _page(info, where, first, after, AuditEvent.from_row)

    @scoped_resolver(
        AUDIT_SUBJECT,
        WORKER_IDENTITY,
        description="查询记录: which agencies disclosed this worker's records, when and why.",
    )
    async def access_report(
        self, info: Info, id_number: IdNumber, first: int | None = None, after: str | None = None
    ) -> AccessReport | None:
        reader = reader_of(info)
        where = EventFilter(entity=("Worker", reader.hasher.entity_key("Worker", id_number)))
        return AccessReport(
            subject=mask_id_number(id_number),
            disclosures=await _page(info, where, first, after, Disclosure.from_row),
        )


CONTRIBUTION = GraphContribution(query=AuditQuery)
