"""What a bank can load into the hub (`hub import bank <table> FILE`, `POST /ingest/bank/…`):
its special accounts, the builders' allocations, its payroll files and payroll cards.

Headers are those banks' payroll exports use, with the national interface's field names
(`Payroll.Add`'s detailList) as synonyms. A payroll row's month is the payroll's
(`payMonth`); back pay (`isBackPay`, `backPayMonth`) counts for the month it belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from connectors.bank.models import (
    Allocation,
    Disbursement,
    ImportBatch,
    PayrollCard,
    WageAccount,
)
from ingest import columns, values
from ingest.tables import ColumnSpec, Problem, RowRule, TableSpec
from ingest.targets import AgencyTables, DbRow, Importable, Reference
from ingest.validate import TypedRow
from kernel.scopes import Scope

INGEST: Final = Scope(
    "ingest:bank",
    "银行数据报送",
    "Load the bank's own tables: special accounts, allocations, payroll, payroll cards.",
)

DISBURSEMENT_STATUS: Final = {
    "paid": ("已发放", "发放成功", "成功", "已支付", "success", "succeeded"),
    "failed": ("发放失败", "失败", "fail", "failure"),
    "returned": ("已退回", "退票", "退回", "refunded", "bounced"),
}
ACCOUNT_STATUS: Final = {
    "active": ("正常", "有效", "open"),
    "frozen": ("冻结",),
    "closed": ("销户", "已销户", "关闭"),
}

WORKER_IN_HOUSING: Final = Reference(
    ("worker_id_number",), "housing_worker", ("id_number",), "worker", "工人", agency="housing"
)
PROJECT_IN_HOUSING: Final = Reference(
    ("project_code",), "housing_project", ("code",), "project", "项目", agency="housing"
)


def _account_no(*synonyms: str) -> ColumnSpec:
    return ColumnSpec(
        "account_no",
        "专户账号",
        values.card_number(),
        synonyms=("工资专户账号", "代发账号", "付款账号", "account", *synonyms),
        description_zh="农民工工资专用账户账号",
        description_en="wage special account",
    )


def _bank_name(title: str, *synonyms: str) -> ColumnSpec:
    return ColumnSpec("bank_name", title, values.text(100), synonyms=("银行名称", *synonyms))


ACCOUNTS: Final = Importable(
    TableSpec(
        agency="bank",
        name="accounts",
        title="农民工工资专用账户",
        title_en="wage special accounts",
        description_zh="每个项目一个工资专户，由总承包单位开立。",
        description_en="One per project, opened by the general contractor.",
        key=("account_no",),
        columns=(
            _account_no(),
            _bank_name("开户银行", "开户行", "payBankName"),
            columns.project_code(),
            columns.uscc(
                "holder_uscc",
                "开户单位统一社会信用代码",
                "开户单位信用代码",
                "总包单位信用代码",
                "corpCode",
            ),
            ColumnSpec("opened_on", "开户日期", values.date(), synonyms=("开户时间",)),
            ColumnSpec(
                "status", "账户状态", values.enumeration(ACCOUNT_STATUS), synonyms=("状态",)
            ),
        ),
    ),
    WageAccount.__table__,  # type: ignore[attr-defined]
    key=("account_no",),
    references=(PROJECT_IN_HOUSING,),
    entities=(("Project", "project_code"), ("Enterprise", "holder_uscc")),
)

ALLOCATIONS: Final = Importable(
    TableSpec(
        agency="bank",
        name="allocations",
        title="人工费用拨付明细",
        title_en="labour-cost allocations",
        description_zh="建设单位向工资专户拨付人工费用的逐笔记录。",
        description_en="Each transfer of labour costs from the builder into a special account.",
        key=("account_no", "period", "transferred_on"),
        columns=(
            _account_no("收款账号"),
            columns.uscc(
                "payer_uscc", "拨付单位统一社会信用代码", "建设单位信用代码", "付款单位信用代码"
            ),
            ColumnSpec("period", "所属月份", values.month(), synonyms=("拨付月份", "月份")),
            ColumnSpec(
                "transferred_on", "拨付日期", values.date(), synonyms=("到账日期", "交易日期")
            ),
            ColumnSpec("amount_fen", "拨付金额", values.yuan(), synonyms=("金额", "到账金额")),
        ),
    ),
    Allocation.__table__,  # type: ignore[attr-defined]
    key=("account_no", "period", "transferred_on"),
    references=(
        Reference(
            ("account_no",), "bank_wage_account", ("account_no",), "special account", "工资专户"
        ),
    ),
    entities=(("Enterprise", "payer_uscc"),),
    period="period",
)


def _back_pay_month_given(is_back_pay: object, back_pay_month: object) -> Problem | None:
    """Back pay counts for the month it belongs to, so that month must be named."""
    if is_back_pay and back_pay_month is None:
        return (
            "back_pay_month",
            "a back-pay row must name the month the pay belongs to",
            "补发工资须填写所属月份（补发月份）",
        )
    if not is_back_pay and back_pay_month is not None:
        return (
            "back_pay_month",
            "a back-pay month is given but the row is not marked as back pay",
            "填写了补发月份，但未标记为补发",
        )
    return None


def _paid_not_more_than_due(due: object, paid: object) -> Problem | None:
    if isinstance(due, int) and isinstance(paid, int) and paid > due:
        return ("amount_fen", "the amount paid is more than the amount due", "实发金额大于应发金额")
    return None


PAYROLL_SPEC: Final = TableSpec(
    agency="bank",
    name="disbursements",
    title="代发工资明细",
    title_en="payroll disbursements",
    description_zh="银行按月代发农民工工资的逐人明细；补发工资计入其所属月份。",
    description_en="One row per worker and pay period paid through the wage special account;"
    " back pay counts for the month it belongs to.",
    key=("project_code", "worker_id_number", "period", "back_pay_month"),
    rules=(
        RowRule(("is_back_pay", "back_pay_month"), _back_pay_month_given),
        RowRule(("due_fen", "amount_fen"), _paid_not_more_than_due),
    ),
    columns=(
        _account_no("payBankCardNumber"),
        columns.project_code(),
        columns.worker_name(required=False),
        columns.id_number(),
        ColumnSpec(
            "card_no", "工资卡号", values.card_number(),
            synonyms=("收款账号", "银行卡号", "收款卡号", "payRollBankCardNumber", "cardNumber"),
        ),
        ColumnSpec(
            "period", "工资月份", values.month(),
            synonyms=("发放月份", "所属月份", "payMonth"),
            description_zh="工资表所属月份", description_en="the payroll's month",
        ),
        ColumnSpec(
            "paid_on", "发放日期", values.date(),
            synonyms=("代发日期", "交易日期", "balanceDate", "paidOn"),
        ),
        ColumnSpec(
            "due_fen", "应发金额", values.yuan(), required=False,
            synonyms=("应发工资", "totalPayAmount"),
        ),
        ColumnSpec(
            "amount_fen", "实发金额", values.yuan(),
            synonyms=("实发工资", "发放金额", "代发金额", "actualAmount", "amount"),
        ),
        ColumnSpec(
            "status", "发放状态", values.enumeration(DISBURSEMENT_STATUS),
            synonyms=("状态", "交易状态", "status"),
        ),
        ColumnSpec(
            "days", "出勤天数", values.integer(0, 31), required=False,
            synonyms=("考勤天数", "days"),
        ),
        ColumnSpec(
            "is_back_pay", "是否补发", values.boolean(), required=False,
            synonyms=("补发", "isBackPay"),
        ),
        ColumnSpec(
            "back_pay_month", "补发月份", values.month(), required=False,
            synonyms=("补发所属月份", "backPayMonth"),
            description_zh="补发工资所属月份", description_en="the month back pay belongs to",
        ),
        ColumnSpec(
            "third_pay_roll_code", "银行流水号", values.text(64), required=False,
            synonyms=("交易流水号", "thirdPayRollCode"),
        ),
    ),
)  # fmt: skip


def _payroll_to_db(row: TypedRow) -> DbRow:
    (account, project, name, worker, card, month, paid_on, due, amount, status, days, back,
     back_month, serial) = row  # fmt: skip
    return (
        account,
        project,
        worker,
        name,
        card,
        month,
        back_month if back else month,
        paid_on,
        due,
        amount,
        status,
        days,
        bool(back),
        serial,
    )


def _payroll_from_db(row: Mapping[str, Any]) -> TypedRow:
    back = bool(row["is_back_pay"])
    return (
        row["account_no"],
        row["project_code"],
        row["worker_name"],
        row["worker_id_number"],
        row["card_no"],
        row["pay_month"],
        row["paid_on"],
        row["due_fen"],
        row["amount_fen"],
        row["status"],
        row["days"],
        back,
        row["period"] if back else None,
        row["serial_no"],
    )


DISBURSEMENTS: Final = Importable(
    PAYROLL_SPEC,
    Disbursement.__table__,  # type: ignore[attr-defined]
    key=("project_code", "worker_id_number", "pay_month", "period"),
    columns=(
        "account_no",
        "project_code",
        "worker_id_number",
        "worker_name",
        "card_no",
        "pay_month",
        "period",
        "paid_on",
        "due_fen",
        "amount_fen",
        "status",
        "days",
        "is_back_pay",
        "serial_no",
    ),
    to_db=_payroll_to_db,
    from_db=_payroll_from_db,
    references=(
        Reference(
            ("account_no", "project_code"),
            "bank_wage_account",
            ("account_no", "project_code"),
            "special account of this project",
            "项目工资专户",
        ),
        WORKER_IN_HOUSING,
        PROJECT_IN_HOUSING,
    ),
    entities=(("Worker", "worker_id_number"), ("Project", "project_code")),
    period="pay_month",
)

CARDS: Final = Importable(
    TableSpec(
        agency="bank",
        name="cards",
        title="工资卡",
        title_en="payroll cards",
        description_zh="工人领取工资的银行卡（含具有金融功能的社会保障卡）。",
        description_en="The cards workers are paid on (social security cards with a bank"
        " function included).",
        key=("card_no",),
        columns=(
            ColumnSpec(
                "card_no",
                "工资卡号",
                values.card_number(),
                synonyms=("银行卡号", "卡号", "payRollBankCardNumber", "cardNumber"),
            ),
            columns.id_number(),
            _bank_name("发卡银行", "payRollBankName"),
            ColumnSpec(
                "opened_on", "开卡日期", values.date(), synonyms=("发卡日期", "issueCardDate")
            ),
        ),
    ),
    PayrollCard.__table__,  # type: ignore[attr-defined]
    key=("card_no",),
    references=(WORKER_IN_HOUSING,),
    entities=(("Worker", "worker_id_number"),),
)

TABLES: Final = AgencyTables(
    "bank",
    INGEST,
    ImportBatch.__table__,  # type: ignore[attr-defined]
    (ACCOUNTS, ALLOCATIONS, DISBURSEMENTS, CARDS),
    module=__name__,
)
