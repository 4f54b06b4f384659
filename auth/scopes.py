"""The scope vocabulary, designed around the data, and the grants of the demo agencies.

Every data field of the graph names one of these scopes next to its declaration
(`schemas.access.scoped`); the README's scope table is generated from the same place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

WORKER_IDENTITY: Final = "worker:identity"
"""Full ID number, name, birth date and gender, the police identity record."""
WORKER_RESIDENCE: Final = "worker:residence"
"""Temporary residence registrations."""
WORKER_EMPLOYMENT: Final = "worker:employment"
"""Real-name registrations, attendance, labour contracts, skill certificates."""
WAGE_READ: Final = "wage:read"
"""Wage amounts: contract wages, payroll disbursements, wage positions, account statements."""
BANK_ACCOUNT: Final = "bank:account"
"""Wage special accounts, allocations, full account and card numbers."""
PROJECT_READ: Final = "project:read"
"""Projects and their site facts."""
ENTERPRISE_READ: Final = "enterprise:read"
"""Enterprises' registration facts."""
ENTERPRISE_CREDIT: Final = "enterprise:credit"
"""Blacklist, credit grades and scores, wage deposits, complaints and inspections."""
CASE_READ: Final = "case:read"
"""Dispute cases, parties, mediation records, judgments."""
STATS_READ: Final = "stats:read"
"""Aggregates for dashboards: warnings and compliance, never individual persons."""
AUDIT_READ: Final = "audit:read"
"""The audit log: every request's record (auditors)."""
AUDIT_SUBJECT: Final = "audit:subject"
"""Access reports: who disclosed one worker's records (a service desk acting for the worker)."""
SCHEMA_INTROSPECT: Final = "schema:introspect"
"""Introspection (`__schema`, `__type`) when the hub runs with HUB_ENV=production."""
CONNECTOR_LOAD: Final = "connector:load"
"""An agency's records in bulk, for the hub to answer its callers (`connectors.remote`):
only the hub's own client holds it."""

ALL_SCOPES: Final = (
    WORKER_IDENTITY,
    WORKER_RESIDENCE,
    WORKER_EMPLOYMENT,
    WAGE_READ,
    BANK_ACCOUNT,
    PROJECT_READ,
    ENTERPRISE_READ,
    ENTERPRISE_CREDIT,
    CASE_READ,
    STATS_READ,
    AUDIT_READ,
    AUDIT_SUBJECT,
    SCHEMA_INTROSPECT,
    CONNECTOR_LOAD,
)

SCOPE_TITLES: Final = {
    WORKER_IDENTITY: "身份信息",
    WORKER_RESIDENCE: "居住登记",
    WORKER_EMPLOYMENT: "实名制用工记录",
    WAGE_READ: "工资数额",
    BANK_ACCOUNT: "工资专用账户",
    PROJECT_READ: "项目信息",
    ENTERPRISE_READ: "企业信息",
    ENTERPRISE_CREDIT: "企业信用",
    CASE_READ: "争议案件",
    STATS_READ: "统计数据",
    AUDIT_READ: "审计日志",
    AUDIT_SUBJECT: "查询记录",
    SCHEMA_INTROSPECT: "接口结构",
    CONNECTOR_LOAD: "部门数据调用",
}
"""What each scope's data is called where a worker reads it (the access report)."""


@dataclass(frozen=True)
class DemoGrant:
    """What one demo agency may do; `hub seed` registers these clients."""

    client_id: str
    agency: str
    title: str
    scopes: tuple[str, ...]
    purposes: tuple[str, ...]
    regions: tuple[str, ...] = ()
    courts: tuple[str, ...] = ()
    bank: str | None = None


CASE_HOLDER_SCOPES: Final = (
    WORKER_IDENTITY,
    WORKER_EMPLOYMENT,
    WAGE_READ,
    PROJECT_READ,
    ENTERPRISE_READ,
    ENTERPRISE_CREDIT,
    CASE_READ,
)
"""A court's or mediation committee's: the cases it holds and the parties' evidence."""

DEMO_GRANTS: Final = (
    DemoGrant(
        "housing-bureau-xinmi",
        "housing",
        "新密市住房和城乡建设局",
        (WORKER_IDENTITY, WORKER_EMPLOYMENT, PROJECT_READ, ENTERPRISE_READ, STATS_READ),
        ("supervision", "real-name-check"),
        regions=("4101",),
    ),
    DemoGrant(
        "hr-bureau-xinmi",
        "hr",
        "新密市人力资源和社会保障局",
        (*CASE_HOLDER_SCOPES, STATS_READ),
        ("arrears-investigation", "labour-inspection", "supervision"),
        regions=("4101",),
    ),
    DemoGrant(
        "police-xinmi",
        "public_security",
        "新密市公安局",
        (WORKER_IDENTITY, WORKER_RESIDENCE, WORKER_EMPLOYMENT, PROJECT_READ),
        ("residence-management",),
        regions=("410183",),
    ),
    DemoGrant(
        "bank-ccb-xinmi",
        "bank",
        "中国建设银行新密市支行",
        (WORKER_EMPLOYMENT, WAGE_READ, BANK_ACCOUNT, PROJECT_READ, ENTERPRISE_READ),
        ("payroll-reconciliation",),
        bank="中国建设银行",
    ),
    DemoGrant(
        "court-xinmi",
        "court",
        "新密市人民法院",
        CASE_HOLDER_SCOPES,
        ("case-evidence",),
        courts=("豫0183",),
    ),
    DemoGrant(
        "mediation-xinmi",
        "mediation",
        "新密市建筑业劳资纠纷人民调解委员会",
        CASE_HOLDER_SCOPES,
        ("dispute-mediation",),
        courts=("豫0183",),
    ),
    DemoGrant(
        "dashboard-zhengzhou",
        "dashboard",
        "郑州市根治欠薪工作领导小组办公室 dashboard",
        (STATS_READ, PROJECT_READ, ENTERPRISE_READ),
        ("statistics",),
        regions=("4101",),
    ),
    DemoGrant(
        "audit-office-henan",
        "audit",
        "河南省大数据管理局 数据安全审计",
        (AUDIT_READ,),
        ("disclosure-audit",),
    ),
    DemoGrant(
        "service-desk-xinmi",
        "service",
        "新密市人力资源和社会保障局 政务服务窗口 (for workers asking who saw their records)",
        (AUDIT_SUBJECT,),
        ("subject-access",),
    ),
    DemoGrant(
        "hub",
        "hub",
        "根治欠薪信息共享平台 (the hub itself, calling agencies that run as their own services)",
        (CONNECTOR_LOAD,),
        ("connector-calls",),
    ),
)
