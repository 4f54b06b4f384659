"""What the HR and social security bureau can load into the hub: wage deposits, arrears
complaints and inspection cases, the wage-arrears blacklist, employers' credit grades and
project work-injury insurance. Projects, enterprises and workers are housing's records:
one HR does not know yet is a warning, not an error (agencies load independently).
"""

from __future__ import annotations

from typing import Any, Final

from connectors.hr.models import (
    BlacklistEntry,
    Complaint,
    CreditGrade,
    ImportBatch,
    InjuryInsurance,
    WageDeposit,
)
from ingest import columns, values
from ingest.tables import ColumnSpec, Problem, RowRule, TableSpec
from ingest.targets import AgencyTables, Importable, Reference
from kernel.scopes import Scope

INGEST: Final = Scope(
    "ingest:hr",
    "人社数据报送",
    "Load the HR bureau's own tables: wage deposits, complaints, blacklist, credit grades, "
    "work-injury insurance.",
)

DEPOSIT_STATUS: Final = {
    "paid": ("已缴纳", "已缴存", "缴纳"),
    "exempt": ("免缴", "免交"),
    "unpaid": ("未缴纳", "未缴"),
    "refunded": ("已退还", "已返还", "退还"),
}
COMPLAINT_KINDS: Final = {"complaint": ("投诉", "举报投诉"), "inspection": ("监察", "劳动保障监察")}
COMPLAINT_STATUS: Final = {
    "accepted": ("已受理", "受理"),
    "investigating": ("调查中", "处理中"),
    "resolved": ("已办结", "办结", "已解决"),
    "referred": ("已移送", "移送"),
}
GRADES: Final = {grade: (f"{grade}级",) for grade in "ABCD"}


def _housing(column: str, table: str, key: str, en: str, zh: str) -> Reference:
    return Reference((column,), table, (key,), en, zh, agency="housing")


PROJECT: Final = _housing("project_code", "housing_project", "code", "project", "项目")
WORKER: Final = _housing("worker_id_number", "housing_worker", "id_number", "worker", "工人")
ENTERPRISE: Final = _housing("enterprise_uscc", "housing_enterprise", "uscc", "enterprise", "企业")

DEPOSITS_SPEC: Final = TableSpec(
    agency="hr", name="deposits", title="工资保证金", title_en="wage deposits",
    key=("project_code",),
    columns=(
        columns.project_code(),
        columns.uscc(
            "enterprise_uscc", "缴存单位统一社会信用代码", "施工总承包单位信用代码", "corpCode"
        ),
        ColumnSpec("amount_fen", "保证金金额", values.yuan(), synonyms=("缴存金额", "金额")),
        ColumnSpec("status", "缴存状态", values.enumeration(DEPOSIT_STATUS), synonyms=("状态",)),
        ColumnSpec(
            "paid_on", "缴存日期", values.date(), required=False, synonyms=("缴纳日期",)
        ),
    ),
)  # fmt: skip

COMPLAINTS_SPEC: Final = TableSpec(
    agency="hr", name="complaints", title="欠薪投诉与监察案件",
    title_en="complaints and inspections",
    key=("complaint_no",),
    columns=(
        ColumnSpec("complaint_no", "案件编号", values.text(32), synonyms=("投诉编号", "受理编号")),
        ColumnSpec("kind", "类别", values.enumeration(COMPLAINT_KINDS), synonyms=("案件类别",)),
        columns.uscc("enterprise_uscc", "被投诉单位统一社会信用代码", "用人单位信用代码"),
        columns.project_code(required=False),
        columns.id_number(required=False),
        ColumnSpec("filed_on", "受理日期", values.date(), synonyms=("投诉日期", "立案日期")),
        ColumnSpec("amount_fen", "涉及金额", values.yuan(), synonyms=("涉及工资", "欠薪金额")),
        ColumnSpec("status", "办理状态", values.enumeration(COMPLAINT_STATUS), synonyms=("状态",)),
        ColumnSpec("summary", "案情摘要", values.text(500), synonyms=("摘要", "简要案情")),
    ),
)  # fmt: skip


def _removed_after_listed(listed: object, removed: object) -> Problem | None:
    if listed is not None and removed is not None and removed < listed:  # type: ignore[operator]
        return ("removed_on", "removed before it was listed", "移出日期早于列入日期")
    return None


BLACKLIST_SPEC: Final = TableSpec(
    agency="hr",
    name="blacklist",
    title="拖欠农民工工资失信联合惩戒对象名单",
    title_en="wage-arrears blacklist",
    key=("decision_no",),
    rules=(RowRule(("listed_on", "removed_on"), _removed_after_listed),),
    columns=(
        ColumnSpec(
            "decision_no", "列入决定书文号", values.text(40),
            synonyms=("决定书编号", "文号", "decisionNo"),
        ),
        columns.uscc(
            "enterprise_uscc", "统一社会信用代码", "信用代码", "企业信用代码", "corpCode", "uscc"
        ),
        ColumnSpec(
            "enterprise_name", "用人单位名称", values.text(100), required=False,
            synonyms=("企业名称", "单位名称", "corpName"),
        ),
        ColumnSpec(
            "responsible_person", "法定代表人", values.text(50),
            synonyms=("负责人", "责任人", "主要负责人", "legalPerson"),
        ),
        ColumnSpec(
            "responsible_id_number", "负责人身份证号", values.id_number(), required=False,
            synonyms=("法定代表人身份证号", "负责人证件号码", "legalPersonIdNumber"),
        ),
        ColumnSpec(
            "region_code", "所在地区代码", values.region_code(), required=False,
            synonyms=("行政区划代码", "地区代码", "areaCode"),
        ),
        ColumnSpec(
            "arrears_fen", "拖欠金额", values.yuan(), required=False,
            synonyms=("拖欠工资金额", "涉及金额", "arrearsAmount"),
        ),
        ColumnSpec(
            "reason", "列入事由", values.text(500), synonyms=("失信行为", "列入原因", "reason")
        ),
        ColumnSpec("listed_on", "列入日期", values.date(), synonyms=("列入时间", "listedOn")),
        ColumnSpec(
            "removed_on", "移出日期", values.date(), required=False,
            synonyms=("移出时间", "removedOn"),
        ),
    ),
)  # fmt: skip

GRADES_SPEC: Final = TableSpec(
    agency="hr", name="grades", title="劳动保障守法诚信等级", title_en="employer credit grades",
    key=("enterprise_uscc",),
    columns=(
        columns.uscc("enterprise_uscc", "统一社会信用代码", "信用代码", "corpCode"),
        ColumnSpec("grade", "等级", values.enumeration(GRADES), synonyms=("诚信等级", "评价等级")),
        ColumnSpec("assessed_on", "评价日期", values.date(), synonyms=("评定日期",)),
    ),
)  # fmt: skip

INSURANCE_SPEC: Final = TableSpec(
    agency="hr", name="insurance", title="项目工伤保险", title_en="project work-injury insurance",
    key=("policy_no",),
    columns=(
        ColumnSpec("policy_no", "参保编号", values.text(32), synonyms=("保单号",)),
        columns.project_code(),
        ColumnSpec("insured_from", "参保起始日期", values.date(), synonyms=("起保日期",)),
        ColumnSpec("insured_to", "参保终止日期", values.date(), synonyms=("终保日期",)),
    ),
)  # fmt: skip


def _table(model: Any) -> Any:
    return model.__table__


DEPOSITS: Final = Importable(
    DEPOSITS_SPEC,
    _table(WageDeposit),
    key=("project_code",),
    references=(PROJECT, ENTERPRISE),
    entities=(("Project", "project_code"), ("Enterprise", "enterprise_uscc")),
)
COMPLAINTS: Final = Importable(
    COMPLAINTS_SPEC,
    _table(Complaint),
    key=("complaint_no",),
    references=(ENTERPRISE, PROJECT, WORKER),
    entities=(
        ("Enterprise", "enterprise_uscc"),
        ("Project", "project_code"),
        ("Worker", "worker_id_number"),
    ),
)
BLACKLIST: Final = Importable(
    BLACKLIST_SPEC,
    _table(BlacklistEntry),
    key=("decision_no",),
    references=(ENTERPRISE,),
    entities=(("Enterprise", "enterprise_uscc"),),
)
GRADES_TABLE: Final = Importable(
    GRADES_SPEC,
    _table(CreditGrade),
    key=("enterprise_uscc",),
    references=(ENTERPRISE,),
    entities=(("Enterprise", "enterprise_uscc"),),
)
INSURANCE: Final = Importable(
    INSURANCE_SPEC,
    _table(InjuryInsurance),
    key=("policy_no",),
    references=(PROJECT,),
    entities=(("Project", "project_code"),),
)

TABLES: Final = AgencyTables(
    "hr",
    INGEST,
    _table(ImportBatch),
    (DEPOSITS, COMPLAINTS, BLACKLIST, GRADES_TABLE, INSURANCE),
    module=__name__,
)
