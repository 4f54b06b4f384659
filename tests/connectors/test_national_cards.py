"""The national interface's ID-type rule, shared by every agency that takes a method: only
resident identity cards (01) are kept, and the refusal names the field that was sent."""

from __future__ import annotations

from typing import Any, cast

from connectors.bank.national import METHODS
from ingest.national import card_problem


def test_resident_cards_and_absent_types_pass() -> None:
    assert card_problem({"idCardType": "01"}, 0) is None
    assert card_problem({}, 0) is None


def test_another_id_type_is_refused_under_the_field_sent() -> None:
    problem = card_problem({"pmIDCardType": "03"}, 4, "pmIDCardType")
    assert problem is not None
    assert (problem.item, problem.field) == (4, "pmIDCardType")
    assert "03" in problem.reason_en
    assert "居民身份证" in problem.reason_zh


def test_the_banks_payroll_refuses_a_passport_row_only() -> None:
    (payroll,) = METHODS
    rows = [{"idCardType": "01"}, {"idCardType": "02"}]
    conversion = payroll.convert(rows, {"payMonth": "2026-09"}, cast(Any, None))
    assert [(p.item, p.field) for p in conversion.problems] == [(1, "idCardType")]
