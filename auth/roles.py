"""What a person at the web desk may do: a role, which narrows their agency client's grant.

A person acts through their agency's client: the scopes of a signed-in session are the
role's scopes that the client's grant also holds, never more, and the purposes are the
client's. So a clerk of the mediation committee reads cases with the committee's grant,
and a developer of the same committee gets no personal data in GraphiQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kernel.scopes import (
    AUDIT_SUBJECT,
    CASE_READ,
    ENTERPRISE_CREDIT,
    ENTERPRISE_READ,
    PROJECT_READ,
    SCHEMA_INTROSPECT,
    STATS_READ,
    WAGE_READ,
    WORKER_EMPLOYMENT,
    WORKER_IDENTITY,
)


@dataclass(frozen=True)
class Role:
    name: str
    label: str
    """How the desk names it (Chinese, English in brackets)."""
    scopes: tuple[str, ...]
    home: str
    """The desk page the role works on (`web.desk` routes)."""


CLERK: Final = Role(
    "clerk",
    "调解员 (case clerk)",
    (
        WORKER_IDENTITY,
        WORKER_EMPLOYMENT,
        WAGE_READ,
        PROJECT_READ,
        ENTERPRISE_READ,
        ENTERPRISE_CREDIT,
        CASE_READ,
    ),
    "cases",
)
SUPERVISOR: Final = Role(
    "supervisor",
    "监管人员 (supervisor)",
    (
        STATS_READ,
        PROJECT_READ,
        ENTERPRISE_READ,
        ENTERPRISE_CREDIT,
        WORKER_IDENTITY,
        WORKER_EMPLOYMENT,
        WAGE_READ,
    ),
    "dashboard",
)
SERVICE_DESK: Final = Role(
    "service-desk", "窗口人员 (service desk)", (AUDIT_SUBJECT, WORKER_IDENTITY), "service"
)
"""The worker in front of the desk shows an ID card: a look-up by ID number needs
worker:identity (a caller without it could test guessed numbers)."""
DEVELOPER: Final = Role(
    "developer",
    "开发人员 (developer)",
    (STATS_READ, PROJECT_READ, ENTERPRISE_READ, ENTERPRISE_CREDIT, SCHEMA_INTROSPECT),
    "developer",
)
"""Aggregates and reference data only: building a dashboard needs no person's records."""

ROLES: Final = {role.name: role for role in (CLERK, SUPERVISOR, SERVICE_DESK, DEVELOPER)}


def session_scopes(role: Role, granted: tuple[str, ...]) -> frozenset[str]:
    """The role's scopes that the client's grant holds."""
    return frozenset(role.scopes) & frozenset(granted)
