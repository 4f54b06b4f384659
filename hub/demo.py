"""The demo agencies (`hub seed`): one registered client per `DEMO_GRANTS` profile. Never
in production (`HUB_ENV=production`): there `hub clients add` registers real agencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from auth.errors import ClientExists
from auth.store import AuthStore, Grant
from connectors.bank.tables import INGEST as INGEST_BANK
from connectors.court.tables import INGEST as INGEST_COURT
from connectors.housing.tables import INGEST as INGEST_HOUSING
from connectors.hr.tables import INGEST as INGEST_HR
from connectors.public_security.tables import INGEST as INGEST_POLICE
from hub.importing import SUBMISSION_PURPOSE
from kernel.scopes import (
    AUDIT_READ,
    AUDIT_SUBJECT,
    BANK_ACCOUNT,
    CASE_READ,
    CONNECTOR_LOAD,
    ENTERPRISE_CREDIT,
    ENTERPRISE_READ,
    PROJECT_READ,
    STATS_READ,
    TOKEN_EXCHANGE,
    WAGE_READ,
    WORKER_EMPLOYMENT,
    WORKER_IDENTITY,
    WORKER_RESIDENCE,
)


@dataclass(frozen=True)
class DemoGrant:
    """What one demo agency may do; `hub seed` registers these clients."""

    client_id: str
    agency: str
    title: str
    scopes: tuple[str, ...]
    purposes: tuple[str, ...]
    limits: dict[str, tuple[str, ...]] = field(default_factory=dict)


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
        limits={"regions": ("4101",)},
    ),
    DemoGrant(
        "hr-bureau-xinmi",
        "hr",
        "新密市人力资源和社会保障局",
        (*CASE_HOLDER_SCOPES, STATS_READ),
        ("arrears-investigation", "labour-inspection", "supervision"),
        limits={"regions": ("4101",)},
    ),
    DemoGrant(
        "police-xinmi",
        "public_security",
        "新密市公安局",
        (WORKER_IDENTITY, WORKER_RESIDENCE, WORKER_EMPLOYMENT, PROJECT_READ),
        ("residence-management",),
        limits={"regions": ("410183",)},
    ),
    DemoGrant(
        "bank-ccb-xinmi",
        "bank",
        "中国建设银行新密市支行",
        (WORKER_EMPLOYMENT, WAGE_READ, BANK_ACCOUNT, PROJECT_READ, ENTERPRISE_READ),
        ("payroll-reconciliation",),
        limits={"bank": ("中国建设银行",)},
    ),
    DemoGrant(
        "court-xinmi",
        "court",
        "新密市人民法院",
        CASE_HOLDER_SCOPES,
        ("case-evidence",),
        limits={"courts": ("豫0183",)},
    ),
    DemoGrant(
        "mediation-xinmi",
        "mediation",
        "新密市建筑业劳资纠纷人民调解委员会",
        CASE_HOLDER_SCOPES,
        ("dispute-mediation",),
        limits={"courts": ("豫0183",)},
    ),
    DemoGrant(
        "dashboard-zhengzhou",
        "dashboard",
        "郑州市根治欠薪工作领导小组办公室 dashboard",
        (STATS_READ, PROJECT_READ, ENTERPRISE_READ),
        ("statistics",),
        limits={"regions": ("4101",)},
    ),
    DemoGrant(
        "audit-office-henan",
        "audit",
        "河南省大数据管理局 数据安全审计",
        (AUDIT_READ, WORKER_IDENTITY),
        ("disclosure-audit",),
    ),
    DemoGrant(
        "service-desk-xinmi",
        "service",
        "新密市人力资源和社会保障局 政务服务窗口 (for workers asking who saw their records)",
        (AUDIT_SUBJECT, WORKER_IDENTITY),
        ("subject-access",),
    ),
    # The agencies' own systems pushing their records (POST /ingest/<agency>/<table>): a
    # client of their own, apart from the officials' clients that read.
    DemoGrant(
        "housing-platform-xinmi",
        "housing",
        "新密市建筑工人实名制管理服务平台 (pushes registrations and attendance)",
        (INGEST_HOUSING,),
        (SUBMISSION_PURPOSE,),
    ),
    DemoGrant(
        "hr-system-xinmi",
        "hr",
        "新密市人力资源和社会保障局 业务系统 (pushes deposits, complaints, blacklist)",
        (INGEST_HR,),
        (SUBMISSION_PURPOSE,),
    ),
    DemoGrant(
        "police-system-xinmi",
        "public_security",
        "新密市公安局 流动人口管理系统 (pushes identities and residence registrations)",
        (INGEST_POLICE,),
        (SUBMISSION_PURPOSE,),
    ),
    DemoGrant(
        "bank-ccb-payroll",
        "bank",
        "中国建设银行新密市支行 代发工资系统 (pushes special accounts and payroll)",
        (INGEST_BANK,),
        (SUBMISSION_PURPOSE,),
    ),
    DemoGrant(
        "court-system-xinmi",
        "court",
        "新密市人民法院 审判管理系统 (pushes dispute cases)",
        (INGEST_COURT,),
        (SUBMISSION_PURPOSE,),
    ),
    DemoGrant(
        "hub",
        "hub",
        "根治欠薪信息共享平台 (the hub itself, calling agencies that run as their own services)",
        (CONNECTOR_LOAD, TOKEN_EXCHANGE),
        ("connector-calls",),
    ),
)


def grant_of(demo: DemoGrant) -> Grant:
    return Grant(
        agency=demo.agency,
        title=demo.title,
        scopes=demo.scopes,
        purposes=demo.purposes,
        limits=demo.limits,
    )


def register_demo_clients(store: AuthStore) -> dict[str, str]:
    """Registers every demo client, or brings an existing one's grant up to date and
    rotates its secret, so the secrets returned (client id → secret) always work."""
    secrets: dict[str, str] = {}
    for demo in DEMO_GRANTS:
        grant = grant_of(demo)
        try:
            secrets[demo.client_id] = store.add_client(demo.client_id, grant)
        except ClientExists:
            store.set_grant(demo.client_id, grant)
            secrets[demo.client_id] = store.rotate_secret(demo.client_id)
    return secrets
