"""Example table declarations: a bank's payroll file and HR's blacklist.

They are realistic (headers as banks and HR bureaus export them, the national interface's
field names as synonyms) and serve the tests and the benchmark. The real per-agency specs
belong in each agency's package (`connectors/bank/...`, `connectors/hr/...`): move these
there when the importer is wired in, keeping the column names equal to the models' fields.
"""

from __future__ import annotations

from typing import Final

from ingest import values
from ingest.tables import ColumnSpec, Problem, RowRule, TableSpec

DISBURSEMENT_STATUS: Final = {
    "paid": ("已发放", "发放成功", "成功", "已支付", "success", "succeeded"),
    "failed": ("发放失败", "失败", "fail", "failure"),
    "returned": ("已退回", "退票", "退回", "refunded", "bounced"),
}


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
        return (
            "amount_fen",
            "the amount paid is more than the amount due",
            "实发金额大于应发金额",
        )
    return None


BANK_PAYROLL: Final = TableSpec(
    agency="bank",
    name="disbursements",
    title="代发工资明细",
    title_en="payroll disbursements",
    description_zh="银行按月代发农民工工资的逐人明细。",
    description_en="One row per worker and pay period paid through the wage special account.",
    key=("project_code", "worker_id_number", "period", "back_pay_month"),
    rules=(
        RowRule(("is_back_pay", "back_pay_month"), _back_pay_month_given),
        RowRule(("due_fen", "amount_fen"), _paid_not_more_than_due),
    ),
    columns=(
        ColumnSpec(
            "account_no", "专户账号", values.card_number(),
            synonyms=("工资专户账号", "代发账号", "付款账号", "payBankCardNumber", "account"),
            description_zh="农民工工资专用账户账号", description_en="wage special account",
        ),
        ColumnSpec(
            "project_code", "项目编码", values.text(32),
            synonyms=("项目编号", "projectCode"),
        ),
        ColumnSpec(
            "worker_name", "姓名", values.text(50),
            synonyms=("工人姓名", "收款人姓名", "户名", "workerName", "name"),
        ),
        ColumnSpec(
            "worker_id_number", "公民身份号码", values.id_number(),
            synonyms=("身份证号", "身份证号码", "证件号码", "idCardNumber", "idNumber"),
        ),
        ColumnSpec(
            "card_no", "工资卡号", values.card_number(),
            synonyms=("收款账号", "银行卡号", "收款卡号", "payRollBankCardNumber", "cardNumber"),
        ),
        ColumnSpec(
            "period", "工资月份", values.month(),
            synonyms=("发放月份", "所属月份", "payMonth"),
            description_zh="工资所属月份", description_en="the month the wages are for",
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
        ),
        ColumnSpec(
            "third_pay_roll_code", "银行流水号", values.text(64), required=False,
            synonyms=("交易流水号", "thirdPayRollCode"),
        ),
    ),
)  # fmt: skip


def _removed_after_listed(listed: object, removed: object) -> Problem | None:
    if listed is not None and removed is not None and removed < listed:  # type: ignore[operator]
        return ("removed_on", "removed before it was listed", "移出日期早于列入日期")
    return None


HR_BLACKLIST: Final = TableSpec(
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
        ColumnSpec(
            "enterprise_uscc", "统一社会信用代码", values.uscc(),
            synonyms=("信用代码", "企业信用代码", "corpCode", "uscc"),
        ),
        ColumnSpec(
            "enterprise_name", "用人单位名称", values.text(100),
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
            "region_code", "所在地区代码", values.region_code(),
            synonyms=("行政区划代码", "地区代码", "areaCode"),
        ),
        ColumnSpec(
            "arrears_fen", "拖欠金额", values.yuan(), required=False,
            synonyms=("拖欠工资金额", "涉及金额", "arrearsAmount"),
        ),
        ColumnSpec(
            "reason", "列入事由", values.text(500),
            synonyms=("失信行为", "列入原因", "reason"),
        ),
        ColumnSpec(
            "listed_on", "列入日期", values.date(), synonyms=("列入时间", "listedOn"),
        ),
        ColumnSpec(
            "removed_on", "移出日期", values.date(), required=False,
            synonyms=("移出时间", "removedOn"),
        ),
    ),
)  # fmt: skip

EXAMPLE_TABLES: Final = (BANK_PAYROLL, HR_BLACKLIST)
