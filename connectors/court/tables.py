"""What courts and mediation committees can load into the hub: wage dispute cases, their
parties, mediation sessions and judgments. Parties, mediations and judgments must name a
case already sent; a party's worker or enterprise unknown to housing is a warning.

A party is identified within its case by its ID number, credit code or, for neither, its
name: sending the same party again updates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from connectors.court.models import CaseParty, DisputeCase, ImportBatch, Judgment, Mediation
from ingest import columns, values
from ingest.tables import ColumnSpec, Problem, RowRule, TableSpec
from ingest.targets import AgencyTables, DbRow, Importable, Reference
from ingest.validate import TypedRow
from kernel.scopes import Scope

INGEST: Final = Scope(
    "ingest:court",
    "司法调解数据报送",
    "Load a court's or mediation committee's own tables: cases, parties, mediations, judgments.",
)

CASE_KINDS: Final = {
    "litigation": ("诉讼", "民事诉讼"),
    "pre_litigation_mediation": ("诉前调解", "诉前调"),
}
CASE_STATUS: Final = {
    "filed": ("已立案", "立案"),
    "mediating": ("调解中",),
    "mediated": ("调解结案", "已调解"),
    "judged": ("已判决", "判决"),
    "closed": ("已结案", "结案"),
}
ROLES: Final = {
    "plaintiff": ("原告", "申请人"),
    "defendant": ("被告", "被申请人"),
    "third_party": ("第三人",),
}
OUTCOMES: Final = {
    "agreed": ("调解成功", "达成协议"),
    "failed": ("调解不成", "调解失败"),
    "pending": ("调解中", "待调解"),
}

CASE: Final = Reference(
    ("case_number",), "court_dispute_case", ("case_number",), "dispute case", "案件"
)


def _disputed_in_order(first: object, last: object) -> Problem | None:
    if first is not None and last is not None and last < first:  # type: ignore[operator]
        return ("disputed_to", "the disputed months end before they start", "争议期间止月早于起月")
    return None


CASES_SPEC: Final = TableSpec(
    agency="court", name="cases", title="劳动争议案件", title_en="wage dispute cases",
    key=("case_number",),
    rules=(RowRule(("disputed_from", "disputed_to"), _disputed_in_order),),
    columns=(
        columns.case_number(),
        ColumnSpec("court_name", "法院名称", values.text(100), synonyms=("受理法院", "受理机构")),
        ColumnSpec("court_code", "法院代字", values.text(8), synonyms=("法院代码",)),
        columns.region_code("region_code", "法院所在地区代码", "行政区划代码"),
        ColumnSpec("kind", "案件类型", values.enumeration(CASE_KINDS), synonyms=("类型",)),
        ColumnSpec("cause", "案由", values.text(50)),
        ColumnSpec("claim_amount_fen", "诉请金额", values.yuan(), synonyms=("标的额", "请求金额")),
        ColumnSpec("status", "案件状态", values.enumeration(CASE_STATUS), synonyms=("状态",)),
        ColumnSpec("filed_on", "立案日期", values.date(), synonyms=("受理日期",)),
        ColumnSpec("closed_on", "结案日期", values.date(), required=False),
        columns.project_code(required=False),
        ColumnSpec("disputed_from", "争议起始月份", values.month(), synonyms=("欠薪起始月份",)),
        ColumnSpec("disputed_to", "争议截止月份", values.month(), synonyms=("欠薪截止月份",)),
    ),
)  # fmt: skip


def _one_identifier(id_number: object, uscc: object) -> Problem | None:
    if id_number is not None and uscc is not None:
        return (
            "uscc",
            "a party is a person (ID number) or an enterprise (credit code), not both",
            "当事人为自然人（身份证号）或单位（信用代码），不能同时填写",
        )
    return None


PARTIES_SPEC: Final = TableSpec(
    agency="court", name="parties", title="案件当事人", title_en="case parties",
    key=("case_number", "id_number", "uscc", "name"),
    rules=(RowRule(("id_number", "uscc"), _one_identifier),),
    columns=(
        columns.case_number(),
        ColumnSpec("role", "诉讼地位", values.enumeration(ROLES), synonyms=("当事人类型", "角色")),
        ColumnSpec("name", "当事人名称", values.text(200), synonyms=("当事人", "姓名或名称")),
        columns.id_number("id_number", required=False),
        columns.uscc("uscc", "统一社会信用代码", "信用代码", required=False),
    ),
)  # fmt: skip


def _party_to_db(row: TypedRow) -> DbRow:
    case_number, role, name, id_number, uscc = row
    return (case_number, role, name, id_number, uscc, id_number or uscc or name)


def _party_from_db(row: Mapping[str, Any]) -> TypedRow:
    return (row["case_number"], row["role"], row["name"], row["id_number"], row["uscc"])


MEDIATIONS_SPEC: Final = TableSpec(
    agency="court", name="mediations", title="调解记录", title_en="mediation sessions",
    key=("case_number", "held_on", "committee"),
    columns=(
        columns.case_number(),
        ColumnSpec("committee", "调解组织", values.text(100), synonyms=("调解委员会",)),
        ColumnSpec("mediator", "调解员", values.text(50), synonyms=("调解人员",)),
        ColumnSpec("held_on", "调解日期", values.date(), synonyms=("调解时间",)),
        ColumnSpec("outcome", "调解结果", values.enumeration(OUTCOMES), synonyms=("结果",)),
        ColumnSpec(
            "agreed_amount_fen", "调解协议金额", values.yuan(), required=False,
            synonyms=("协议金额",),
        ),
    ),
)  # fmt: skip

JUDGMENTS_SPEC: Final = TableSpec(
    agency="court", name="judgments", title="判决与执行", title_en="judgments and enforcement",
    key=("case_number",),
    columns=(
        columns.case_number(),
        ColumnSpec("judged_on", "判决日期", values.date(), synonyms=("裁判日期",)),
        ColumnSpec("awarded_amount_fen", "判决金额", values.yuan(), synonyms=("判决支付金额",)),
        ColumnSpec("enforced_amount_fen", "已执行金额", values.yuan(), synonyms=("执行到位金额",)),
        ColumnSpec("summary", "裁判要旨", values.text(500), synonyms=("判决摘要", "摘要")),
    ),
)  # fmt: skip


def _table(model: Any) -> Any:
    return model.__table__


CASES: Final = Importable(
    CASES_SPEC,
    _table(DisputeCase),
    key=("case_number",),
    references=(
        Reference(
            ("project_code",), "housing_project", ("code",), "project", "项目", agency="housing"
        ),
    ),
    entities=(("DisputeCase", "case_number"), ("Project", "project_code")),
)
PARTIES: Final = Importable(
    PARTIES_SPEC,
    _table(CaseParty),
    key=("case_number", "party_key"),
    columns=("case_number", "role", "name", "id_number", "uscc", "party_key"),
    to_db=_party_to_db,
    from_db=_party_from_db,
    references=(
        CASE,
        Reference(
            ("id_number",), "housing_worker", ("id_number",), "worker", "工人", agency="housing"
        ),
    ),
    entities=(("DisputeCase", "case_number"), ("Worker", "id_number"), ("Enterprise", "uscc")),
)
MEDIATIONS: Final = Importable(
    MEDIATIONS_SPEC,
    _table(Mediation),
    key=("case_number", "held_on", "committee"),
    references=(CASE,),
    entities=(("DisputeCase", "case_number"),),
)
JUDGMENTS: Final = Importable(
    JUDGMENTS_SPEC,
    _table(Judgment),
    key=("case_number",),
    references=(CASE,),
    entities=(("DisputeCase", "case_number"),),
)

TABLES: Final = AgencyTables(
    "court", INGEST, _table(ImportBatch), (CASES, PARTIES, MEDIATIONS, JUDGMENTS), module=__name__
)
