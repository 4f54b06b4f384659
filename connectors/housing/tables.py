"""What the housing bureau's real-name platform can load into the hub: enterprises,
projects, workers, real-name registrations, monthly attendance, labour contracts and
skill certificates, and — as the national interface sends them (`national.py`) — teams
and project rosters. Load them in that order: a registration must name a worker, project
and employer the bureau has already sent, attendance a registration.

Attendance comes a worker, project and month per row with the days present (`1-3,5,8`),
the way real-name platforms print a monthly attendance sheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from connectors.housing.models import (
    AttendanceMonth,
    Enterprise,
    ImportBatch,
    LabourContract,
    Project,
    ProjectWorker,
    Registration,
    SkillCertificate,
    Team,
    Worker,
)
from ingest import columns, values
from ingest.tables import ColumnSpec, Problem, RowRule, TableSpec
from ingest.targets import AgencyTables, DbRow, Importable, Reference
from ingest.validate import TypedRow
from kernel.scopes import Scope

INGEST: Final = Scope(
    "ingest:housing",
    "住建数据报送",
    "Load the housing bureau's own tables: enterprises, projects, workers, registrations, "
    "attendance, labour contracts, skill certificates, teams, project rosters.",
)

ENTERPRISE_KINDS: Final = {
    "builder": ("建设单位", "业主"),
    "general_contractor": ("施工总承包", "总承包单位", "总包"),
    "specialty_contractor": ("专业承包", "专业分包"),
    "labour_subcontractor": ("劳务分包", "劳务企业"),
    "professional": ("专业作业", "专业作业企业"),
}
PROJECT_STATUS: Final = {
    "under_construction": ("在建", "施工中"),
    "suspended": ("停工", "暂停"),
    "completed": ("竣工", "完工", "已竣工"),
}


def _in_order(first: str, then: str, en: str, zh: str) -> RowRule:
    def check(start: object, end: object) -> Problem | None:
        if start is not None and end is not None and end < start:  # type: ignore[operator]
            return (then, en, zh)
        return None

    return RowRule((first, then), check)


def _known(column: str, table: str, key: str, en: str, zh: str) -> Reference:
    return Reference((column,), table, (key,), en, zh)


WORKER: Final = _known("worker_id_number", "housing_worker", "id_number", "worker", "工人")
PROJECT: Final = _known("project_code", "housing_project", "code", "project", "项目")


def _employer(column: str = "employer_uscc") -> Reference:
    return _known(column, "housing_enterprise", "uscc", "enterprise", "企业")


ENTERPRISES_SPEC: Final = TableSpec(
    agency="housing", name="enterprises", title="企业信息", title_en="enterprises",
    key=("uscc",),
    columns=(
        columns.uscc("uscc", "统一社会信用代码", "信用代码", "企业信用代码", "corpCode"),
        ColumnSpec("name", "企业名称", values.text(200), synonyms=("单位名称", "corpName")),
        ColumnSpec(
            "kind", "企业类型", values.enumeration(ENTERPRISE_KINDS), synonyms=("corpType",)
        ),
        columns.region_code("region_code", "注册地区代码", "行政区划代码", "注册地"),
        ColumnSpec(
            "qualification", "资质", values.text(100), required=False,
            synonyms=("资质等级", "企业资质"),
        ),
        ColumnSpec("credit_score", "信用分", values.integer(0, 100), synonyms=("信用评分",)),
        ColumnSpec(
            "legal_representative", "法定代表人", values.text(50),
            synonyms=("法人", "legalPerson"),
        ),
    ),
)  # fmt: skip

PROJECTS_SPEC: Final = TableSpec(
    agency="housing", name="projects", title="工程项目", title_en="projects",
    key=("code",),
    rules=(
        _in_order(
            "start_date", "planned_end_date", "planned to end before it starts",
            "计划竣工日期早于开工日期",
        ),
    ),
    columns=(
        ColumnSpec(
            "code", "项目编码", values.text(32), synonyms=("项目编号", "项目代码", "projectCode")
        ),
        ColumnSpec("name", "项目名称", values.text(200), synonyms=("工程名称", "projectName")),
        columns.region_code("region_code", "项目所在地区代码", "行政区划代码", "项目所在地"),
        columns.uscc("builder_uscc", "建设单位统一社会信用代码", "建设单位信用代码"),
        columns.uscc("contractor_uscc", "总承包单位统一社会信用代码", "施工总承包单位信用代码"),
        ColumnSpec(
            "contract_price_fen", "合同价款", values.yuan(), synonyms=("合同金额", "中标价")
        ),
        ColumnSpec("start_date", "开工日期", values.date(), synonyms=("实际开工日期",)),
        ColumnSpec("planned_end_date", "计划竣工日期", values.date(), synonyms=("竣工日期",)),
        ColumnSpec(
            "status", "项目状态", values.enumeration(PROJECT_STATUS), synonyms=("工程状态",)
        ),
        ColumnSpec(
            "rights_notice_board", "维权告示牌", values.boolean(),
            synonyms=("设置维权信息告示牌",),
        ),
        ColumnSpec(
            "payment_guarantee", "工程款支付担保", values.boolean(), synonyms=("支付担保",)
        ),
    ),
)  # fmt: skip

WORKERS_SPEC: Final = TableSpec(
    agency="housing", name="workers", title="建筑工人", title_en="workers",
    key=("id_number",),
    columns=(
        columns.id_number("id_number"),
        columns.worker_name("name"),
        ColumnSpec("registered_on", "登记日期", values.date(), synonyms=("实名登记日期",)),
    ),
)  # fmt: skip

REGISTRATIONS_SPEC: Final = TableSpec(
    agency="housing", name="registrations", title="实名制登记", title_en="real-name registrations",
    description_zh="工人进入项目的实名登记：项目、用工单位、班组、工种、进退场日期。",
    description_en="A worker on a project for an employer, in a team: entry and exit dates.",
    key=("project_code", "worker_id_number", "entry_date"),
    rules=(_in_order("entry_date", "exit_date", "exit before entry", "退场日期早于进场日期"),),
    columns=(
        columns.id_number(),
        columns.project_code(),
        columns.uscc("employer_uscc", "用工单位统一社会信用代码", "用工单位信用代码", "corpCode"),
        ColumnSpec("team", "班组", values.text(50), synonyms=("班组名称", "teamName")),
        ColumnSpec("trade", "工种", values.text(20), synonyms=("workType",)),
        ColumnSpec("entry_date", "进场日期", values.date(), synonyms=("进场时间", "entryTime")),
        ColumnSpec(
            "exit_date", "退场日期", values.date(), required=False,
            synonyms=("退场时间", "exitTime"),
        ),
    ),
)  # fmt: skip


def _days_match(days_present: object, mask: object) -> Problem | None:
    if not (isinstance(days_present, int) and isinstance(mask, int)):
        return None
    if mask.bit_count() == days_present:
        return None
    return (
        "days_present",
        f"{days_present} days present but {mask.bit_count()} days listed",
        f"出勤天数为 {days_present}，但列出的出勤日期有 {mask.bit_count()} 天",
    )


ATTENDANCE_SPEC: Final = TableSpec(
    agency="housing", name="attendance", title="实名制考勤（月）", title_en="monthly attendance",
    description_zh="每人每项目每月一行：出勤的日期（如 1-3,5,8）。",
    description_en="One row per worker, project and month: the days the worker clocked in.",
    key=("worker_id_number", "project_code", "month"),
    rules=(RowRule(("days_present", "day_mask"), _days_match),),
    columns=(
        columns.id_number(),
        columns.project_code(),
        ColumnSpec("month", "考勤月份", values.month(), synonyms=("月份", "attendanceMonth")),
        ColumnSpec("day_mask", "出勤日期", values.days_of_month(), synonyms=("出勤日", "days")),
        ColumnSpec(
            "days_present", "出勤天数", values.integer(0, 31), required=False,
            synonyms=("考勤天数", "daysPresent"),
            description_zh="可省略；填写时须与出勤日期的天数一致",
            description_en="optional; when given it must match the days listed",
        ),
    ),
)  # fmt: skip


def _attendance_to_db(row: TypedRow) -> DbRow:
    worker, project, month, mask, _days = row
    assert isinstance(mask, int)
    return (worker, project, month, mask.bit_count(), mask)


def _attendance_from_db(row: Mapping[str, Any]) -> TypedRow:
    return (
        row["worker_id_number"], row["project_code"], row["month"], row["day_mask"],
        row["days_present"],
    )  # fmt: skip


CONTRACTS_SPEC: Final = TableSpec(
    agency="housing", name="contracts", title="劳动合同", title_en="labour contracts",
    key=("contract_no",),
    rules=(
        _in_order("start_date", "end_date", "ends before it starts", "合同终止日期早于起始日期"),
    ),
    columns=(
        ColumnSpec("contract_no", "合同编号", values.text(32), synonyms=("contractNo",)),
        columns.id_number(),
        columns.project_code(),
        columns.uscc("employer_uscc", "用工单位统一社会信用代码", "用工单位信用代码", "corpCode"),
        ColumnSpec("signed_on", "签订日期", values.date(), synonyms=("签约日期",)),
        ColumnSpec("start_date", "合同起始日期", values.date(), synonyms=("startDate",)),
        ColumnSpec(
            "end_date", "合同终止日期", values.date(), required=False, synonyms=("endDate",)
        ),
        ColumnSpec(
            "daily_wage_fen", "日工资", values.yuan(), synonyms=("日工资标准", "unitPrice")
        ),
        ColumnSpec("pay_day", "发薪日", values.integer(1, 31), synonyms=("工资支付日",)),
    ),
)  # fmt: skip

CERTIFICATES_SPEC: Final = TableSpec(
    agency="housing", name="certificates", title="职业技能证书", title_en="skill certificates",
    key=("certificate_no",),
    rules=(
        _in_order("issued_on", "expires_on", "expires before it is issued", "有效期早于发证日期"),
    ),
    columns=(
        ColumnSpec("certificate_no", "证书编号", values.text(32), synonyms=("证书号",)),
        columns.id_number(),
        ColumnSpec("trade", "工种", values.text(20), synonyms=("职业工种", "workType")),
        ColumnSpec("level", "等级", values.text(10), synonyms=("技能等级",)),
        ColumnSpec("issued_on", "发证日期", values.date()),
        ColumnSpec("expires_on", "有效期至", values.date(), synonyms=("到期日期",)),
    ),
)  # fmt: skip


TEAMS_SPEC: Final = TableSpec(
    agency="housing", name="teams", title="班组", title_en="teams",
    description_zh="用工单位在项目上的班组（全国平台 Team.Add），其编号即 teamSysNo。",
    description_en="An employer's team on a project (the national Team.Add); its id is the"
    " teamSysNo.",
    key=("project_code", "employer_uscc", "name"),
    rules=(_in_order("entry_date", "exit_date", "exit before entry", "退场日期早于进场日期"),),
    columns=(
        columns.project_code(),
        columns.uscc("employer_uscc", "用工单位统一社会信用代码", "用工单位信用代码", "corpCode"),
        ColumnSpec("name", "班组名称", values.text(50), synonyms=("班组", "teamName")),
        ColumnSpec(
            "leader_name", "班组长姓名", values.text(50), required=False,
            synonyms=("responsiblePersonName",),
        ),
        ColumnSpec(
            "leader_phone", "班组长电话", values.text(20), required=False,
            synonyms=("responsiblePersonPhone",),
        ),
        columns.id_number(
            "leader_id_number", "班组长身份证号", required=False
        ),
        ColumnSpec(
            "entry_date", "进场日期", values.date(), required=False, synonyms=("entryTime",)
        ),
        ColumnSpec(
            "exit_date", "退场日期", values.date(), required=False, synonyms=("exitTime",)
        ),
    ),
)  # fmt: skip

PROJECT_WORKERS_SPEC: Final = TableSpec(
    agency="housing", name="project_workers", title="项目人员", title_en="project rosters",
    description_zh="工人在项目上的用工单位、班组和工种（全国平台 ProjectWorker.Add）；"
    "进退场（WorkerEntryExit.Add）据此形成实名制登记。",
    description_en="A worker's employer, team and trade on a project (the national"
    " ProjectWorker.Add); entries and exits (WorkerEntryExit.Add) make registrations of it.",
    key=("project_code", "worker_id_number"),
    columns=(
        columns.id_number(),
        columns.project_code(),
        columns.uscc("employer_uscc", "用工单位统一社会信用代码", "用工单位信用代码", "corpCode"),
        ColumnSpec("team", "班组", values.text(50), synonyms=("班组名称", "teamName")),
        ColumnSpec("trade", "工种", values.text(20), synonyms=("workType",)),
        ColumnSpec(
            "is_team_leader", "是否班组长", values.boolean(), required=False,
            synonyms=("isTeamLeader",),
        ),
    ),
)  # fmt: skip


def _table(model: Any) -> Any:
    return model.__table__


ENTERPRISES: Final = Importable(
    ENTERPRISES_SPEC, _table(Enterprise), key=("uscc",), entities=(("Enterprise", "uscc"),)
)
PROJECTS: Final = Importable(
    PROJECTS_SPEC,
    _table(Project),
    key=("code",),
    references=(_employer("builder_uscc"), _employer("contractor_uscc")),
    entities=(
        ("Project", "code"),
        ("Enterprise", "builder_uscc"),
        ("Enterprise", "contractor_uscc"),
    ),
)
WORKERS: Final = Importable(
    WORKERS_SPEC, _table(Worker), key=("id_number",), entities=(("Worker", "id_number"),)
)
REGISTRATIONS: Final = Importable(
    REGISTRATIONS_SPEC,
    _table(Registration),
    key=("project_code", "worker_id_number", "entry_date"),
    references=(WORKER, PROJECT, _employer()),
    entities=(("Worker", "worker_id_number"), ("Project", "project_code")),
)
ATTENDANCE: Final = Importable(
    ATTENDANCE_SPEC,
    _table(AttendanceMonth),
    key=("worker_id_number", "project_code", "month"),
    columns=("worker_id_number", "project_code", "month", "days_present", "day_mask"),
    to_db=_attendance_to_db,
    from_db=_attendance_from_db,
    references=(
        Reference(
            ("worker_id_number", "project_code"),
            "housing_registration",
            ("worker_id_number", "project_code"),
            "real-name registration of this worker on this project",
            "该工人在该项目的实名登记",
        ),
    ),
    entities=(("Worker", "worker_id_number"), ("Project", "project_code")),
    period="month",
)
CONTRACTS: Final = Importable(
    CONTRACTS_SPEC,
    _table(LabourContract),
    key=("contract_no",),
    references=(WORKER, PROJECT, _employer()),
    entities=(("Worker", "worker_id_number"), ("Project", "project_code")),
)
CERTIFICATES: Final = Importable(
    CERTIFICATES_SPEC,
    _table(SkillCertificate),
    key=("certificate_no",),
    references=(WORKER,),
    entities=(("Worker", "worker_id_number"),),
)

TEAMS: Final = Importable(
    TEAMS_SPEC,
    _table(Team),
    key=("project_code", "employer_uscc", "name"),
    references=(PROJECT, _employer()),
    entities=(("Project", "project_code"), ("Enterprise", "employer_uscc")),
)
PROJECT_WORKERS: Final = Importable(
    PROJECT_WORKERS_SPEC,
    _table(ProjectWorker),
    key=("project_code", "worker_id_number"),
    references=(PROJECT, _employer()),  # the worker comes in the same call (ProjectWorker.Add)
    entities=(("Worker", "worker_id_number"), ("Project", "project_code")),
)

TABLES: Final = AgencyTables(
    "housing",
    INGEST,
    _table(ImportBatch),
    (
        ENTERPRISES,
        PROJECTS,
        WORKERS,
        REGISTRATIONS,
        ATTENDANCE,
        CONTRACTS,
        CERTIFICATES,
        TEAMS,
        PROJECT_WORKERS,
    ),
    module=__name__,
)
