"""`Payroll.Add` of the national platform interface, as rows of the bank's payroll
disbursements: the interface's payroll is the record of wages paid from the project's
special account to each worker's card, which in this hub is the bank's table — so a
submitter must be the bank's to call it.

The call names the month (`payMonth`) and project once, each detail row the worker, the
special account (`payBankCardNumber`), the card (`payRollBankCardNumber`), wages due and
paid in yuan, back pay and its month, the day paid (`balanceDate`) and the bank's serial
(`thirdPayRollCode`). The interface has no status: a row it lists was paid, unless it
sends the hub's `status` (returned, failed) and, optionally, `workerName`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ingest.national import Conversion, NationalMethod, Part, card_problem, text
from storage.database import Database

PAYROLL_FIELDS: Final = {
    "account_no": "payBankCardNumber", "project_code": "projectCode",
    "worker_name": "workerName", "worker_id_number": "idCardNumber",
    "card_no": "payRollBankCardNumber", "period": "payMonth", "paid_on": "balanceDate",
    "due_fen": "totalPayAmount", "amount_fen": "actualAmount", "status": "status",
    "days": "days", "is_back_pay": "isBackPay", "back_pay_month": "backPayMonth",
    "third_pay_roll_code": "thirdPayRollCode",
}  # fmt: skip


def _payroll(
    items: Sequence[Mapping[str, Any]], header: Mapping[str, Any], db: Database
) -> Conversion:
    part = Part("disbursements", fields=PAYROLL_FIELDS)
    problems = []
    for index, item in enumerate(items):
        if (problem := card_problem(item, index)) is not None:
            problems.append(problem)
        part.add(
            index,
            {
                "account_no": text(item, "payBankCardNumber"),
                "project_code": text(header, "projectCode"),
                "worker_name": text(item, "workerName"),
                "worker_id_number": text(item, "idCardNumber"),
                "card_no": text(item, "payRollBankCardNumber"),
                "period": text(header, "payMonth"),
                "paid_on": text(item, "balanceDate"),
                "due_fen": text(item, "totalPayAmount"),
                "amount_fen": text(item, "actualAmount"),
                "status": text(item, "status") or "paid",
                "days": text(item, "days"),
                "is_back_pay": text(item, "isBackPay"),
                "back_pay_month": text(item, "backPayMonth"),
                "third_pay_roll_code": text(item, "thirdPayRollCode"),
            },
        )
    return Conversion([part], problems)


METHODS: Final = (
    NationalMethod("Payroll.Add", "bank", "detailList", _payroll, ("disbursements",)),
)
