"""The scope vocabulary: every scope declared once, with the name a worker reads in an
access report and what its data is.

    WAGE_READ = Scope("wage:read", "工资数额", "Wage amounts: ...")

A `Scope` is the string OAuth carries (`"wage:read"`), so grants, tokens and field
declarations compare it as text; declaring it registers it in `vocabulary()`. An agency
that needs a kind of data no scope covers declares its own `Scope` in its package.
"""

from __future__ import annotations

from typing import Final


class Scope(str):
    """One scope: its OAuth name, its label where users read it (Chinese), and what it covers."""

    label: str
    description: str

    def __new__(cls, name: str, label: str, description: str) -> Scope:
        if name in _VOCABULARY:
            raise ValueError(f"scope {name} is declared twice")
        scope = super().__new__(cls, name)
        scope.label = label
        scope.description = description
        _VOCABULARY[name] = scope
        return scope


_VOCABULARY: dict[str, Scope] = {}


def vocabulary() -> tuple[Scope, ...]:
    """Every declared scope, in declaration order (the kernel's first, then the agencies'
    as their packages are imported)."""
    return tuple(_VOCABULARY.values())


def scope_label(name: str) -> str:
    found = _VOCABULARY.get(name)
    return found.label if found is not None else name


WORKER_IDENTITY: Final = Scope(
    "worker:identity",
    "身份信息",
    "Full ID number, name, birth date and gender, the police identity record.",
)
WORKER_RESIDENCE: Final = Scope(
    "worker:residence",
    "居住登记",
    "Temporary residence registrations.",
)
WORKER_EMPLOYMENT: Final = Scope(
    "worker:employment",
    "实名制用工记录",
    "Real-name registrations, attendance, labour contracts, skill certificates.",
)
WAGE_READ: Final = Scope(
    "wage:read",
    "工资数额",
    "Wage amounts: contract wages, payroll disbursements, wage positions, account statements.",
)
BANK_ACCOUNT: Final = Scope(
    "bank:account",
    "工资专用账户",
    "Wage special accounts, allocations, full account and card numbers.",
)
PROJECT_READ: Final = Scope("project:read", "项目信息", "Projects and their site facts.")
ENTERPRISE_READ: Final = Scope("enterprise:read", "企业信息", "Enterprises' registration facts.")
ENTERPRISE_CREDIT: Final = Scope(
    "enterprise:credit",
    "企业信用",
    "Blacklist, credit grades and scores, wage deposits, complaints and inspections.",
)
CASE_READ: Final = Scope(
    "case:read",
    "争议案件",
    "Dispute cases, parties, mediation records, judgments.",
)
STATS_READ: Final = Scope(
    "stats:read",
    "统计数据",
    "Aggregates for dashboards: warnings and compliance, never individual persons.",
)
AUDIT_READ: Final = Scope(
    "audit:read",
    "审计日志",
    "The audit log: every request's record (auditors).",
)
AUDIT_SUBJECT: Final = Scope(
    "audit:subject",
    "查询记录",
    "Access reports: who disclosed one worker's records (a service desk acting for the worker).",
)
SCHEMA_INTROSPECT: Final = Scope(
    "schema:introspect",
    "接口结构",
    "Introspection (`__schema`, `__type`) when the hub runs with HUB_ENV=production.",
)
METRICS_READ: Final = Scope(
    "metrics:read",
    "运行指标",
    "The hub's Prometheus metrics at /metrics (counts and latencies; no person's data).",
)
CONNECTOR_LOAD: Final = Scope(
    "connector:load",
    "部门数据调用",
    "An agency's records in bulk, for the hub to answer its callers (remote connectors): "
    "only the hub's own client holds it.",
)
TOKEN_EXCHANGE: Final = Scope(
    "token:exchange",
    "代为调用",
    "Exchange a caller's access token at /oauth/token (RFC 8693) for one an agency's "
    "service accepts, naming this client as the actor: the hub's client and agencies' "
    "service clients.",
)
