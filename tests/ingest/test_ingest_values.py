"""Every cell rule, each shown with a value it accepts and a value it refuses."""

from __future__ import annotations

import datetime
import decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import values
from ingest.errors import CellWarning, InvalidValue
from ingest.values.identifiers import _id_number_fast
from kernel.identifiers import (
    InvalidIdentifier,
    make_id_number,
    make_uscc,
    uscc_check_char,
    validate_id_number,
)

ID = make_id_number("410105", datetime.date(1980, 5, 17), 123)  # 41010519800517123X
USCC = make_uscc("410105", 42)
CST = values.CHINA_STANDARD_TIME
UTC = datetime.UTC


def parse(kind: values.Kind, raw: object, required: bool = True) -> object:
    return kind.make(required)(raw)


def refused(kind: values.Kind, raw: object, required: bool = True) -> InvalidValue:
    with pytest.raises(InvalidValue) as caught:
        parse(kind, raw, required)
    assert caught.value.reason_en
    assert caught.value.reason_zh
    return caught.value


# --- empties -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [values.text(), values.id_number(), values.uscc(), values.date(), values.timestamp(),
     values.month(), values.yuan(), values.fen(), values.integer(), values.boolean(),
     values.enumeration({"paid": ("已发放",)}), values.region_code(), values.card_number()],
    ids=lambda kind: kind.name,
)  # fmt: skip
@pytest.mark.parametrize("empty", [None, "", "   ", "\u3000"])
def test_empty_is_none_when_optional_and_an_error_when_required(
    kind: values.Kind, empty: object
) -> None:
    assert parse(kind, empty, required=False) is None
    assert "required" in refused(kind, empty).reason_en


# --- text ----------------------------------------------------------------------------------


def test_text_is_trimmed_and_nfc() -> None:
    assert parse(values.text(), "  张三 ") == "张三"
    assert parse(values.text(), "Cafe\u0301") == "Café"
    assert parse(values.text(), "阿依古丽·买买提") == "阿依古丽·买买提"
    assert parse(values.text(), 12345) == "12345"
    assert parse(values.text(), "+86 138 0013 8000") == "+86 138 0013 8000"


@pytest.mark.parametrize(
    "raw",
    ['=HYPERLINK("http://x","点我")', "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0"],
)
def test_text_that_starts_like_a_formula_is_refused(raw: str) -> None:
    assert "formula" in refused(values.text(), raw).reason_en


@pytest.mark.parametrize("raw", ["张\x00三", "张\n三", "a\u200bb", "a\u2028b"])
def test_text_with_control_or_invisible_characters_is_refused(raw: str) -> None:
    assert "U+" in refused(values.text(), raw).reason_en


def test_text_longer_than_the_column_is_refused() -> None:
    assert "longer than 3" in refused(values.text(3), "一二三四").reason_en


def test_a_long_number_in_a_text_column_is_refused_as_rounded() -> None:
    assert "rounded" in refused(values.text(), 6.222000011112222e18).reason_en


# --- ID numbers ------------------------------------------------------------------------------


def test_id_number_accepts_valid_and_normalises_x() -> None:
    kind = values.id_number()
    assert parse(kind, ID) == ID
    assert parse(kind, ID.lower()) == ID
    assert parse(kind, f" {ID} ") == ID
    full_width = ID.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    assert parse(kind, full_width) == ID


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (ID[:17] + ("0" if ID[17] != "0" else "1"), "check character"),
        (ID[:-1], "18 characters"),
        ("4101051980A517123X", "must be a digit"),
        ("410105" + "19800230" + "123" + "X", "does not exist"),
        (4.1010519800517e17, "stored as a number"),
    ],
)
def test_id_number_refusals_say_why_without_the_number(raw: object, reason: str) -> None:
    error = refused(values.id_number(), raw)
    assert reason in error.reason_en
    assert ID[6:14] not in error.reason_en or "birth" in error.reason_en


def test_id_number_with_a_future_birth_date_is_refused() -> None:
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    first17 = f"410105{tomorrow:%Y%m%d}123"
    from_validator = [c for c in "0123456789X" if _accepts(first17 + c)]
    assert from_validator == []  # schemas refuses every check char, so do we
    for check in "0123456789X":
        with pytest.raises(InvalidValue):
            parse(values.id_number(), first17 + check)


def _accepts(number: str) -> bool:
    try:
        validate_id_number(number)
    except InvalidIdentifier:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789X", min_size=18, max_size=18))
def test_fast_id_check_agrees_with_schemas(number: str) -> None:
    today = datetime.date.today().strftime("%Y%m%d")
    assert _id_number_fast(number, today) == _accepts(number)


@settings(max_examples=200, deadline=None)
@given(
    st.dates(datetime.date(1940, 1, 1), datetime.date(2010, 12, 31)),
    st.integers(0, 999),
)
def test_fast_id_check_accepts_every_valid_number(born: datetime.date, sequence: int) -> None:
    number = make_id_number("341221", born, sequence)
    assert _id_number_fast(number, datetime.date.today().strftime("%Y%m%d"))


# --- credit codes ----------------------------------------------------------------------------


def test_uscc_valid_is_accepted() -> None:
    assert parse(values.uscc(), USCC.lower()) == USCC


def test_uscc_failing_only_its_check_character_is_a_warning() -> None:
    wrong = next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != USCC[17])
    with pytest.raises(CellWarning) as caught:
        parse(values.uscc(), USCC[:17] + wrong)
    assert caught.value.value == USCC[:17] + wrong
    assert "early code" in caught.value.reason_en


def test_uscc_with_a_broken_organisation_code_is_an_error() -> None:
    body = USCC[:10] + ("1" if USCC[10] != "1" else "2") + USCC[11:17]
    code = body + ("0" if uscc_check_char(body) != "0" else "1")  # also fails the USCC check
    assert "check character" in refused(values.uscc(), code).reason_en


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(USCC[:-1], "18 characters"), (USCC[:5] + "I" + USCC[6:], "not allowed")],
)
def test_uscc_refusals(raw: str, reason: str) -> None:
    assert reason in refused(values.uscc(), raw).reason_en


# --- region codes, card numbers -----------------------------------------------------------


def test_region_code_against_the_hub_list() -> None:
    assert parse(values.region_code(), "410105") == "410105"
    assert parse(values.region_code(), 410105.0) == "410105"
    assert "not a GB/T 2260" in refused(values.region_code(), "999999").reason_en
    assert "6 digits" in refused(values.region_code(), "41010").reason_en


def test_card_number() -> None:
    assert parse(values.card_number(), "6217 0000 1111 2222") == "6217000011112222"
    assert parse(values.card_number(), 6217000011112222) == "6217000011112222"
    assert "digits only" in refused(values.card_number(), "6217-0000-abcd").reason_en
    assert "stored as a number" in refused(values.card_number(), 6.217e15).reason_en


# --- dates, timestamps, months ----------------------------------------------------------------

SEPT_1 = datetime.date(2026, 9, 1)


@pytest.mark.parametrize(
    "raw",
    ["2026-09-01", "2026/9/1", "2026.9.1", "20260901", "2026年9月1日", "2026-9-1",
     "2026-09-01 17:45:00", "2026/9/1 8:00", 46266, 46266.75, "46266",
     datetime.date(2026, 9, 1), datetime.datetime(2026, 9, 1, 23, 0)],
)  # fmt: skip
def test_date_forms(raw: object) -> None:
    assert parse(values.date(), raw) == SEPT_1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("2026-02-30", "no such day"), ("2026/13/1", "no such day"), ("9/1/2026", "not a date"),
     ("yesterday", "not a date"), (60, "1900-02-29"), (0, "serials run from 1"),
     ("2026-09-01 25:00:00", "not a date and time")],
)  # fmt: skip
def test_date_refusals(raw: object, reason: str) -> None:
    assert reason in refused(values.date(), raw).reason_en


def test_excel_serials_around_the_fake_leap_day() -> None:
    assert parse(values.date(), 1) == datetime.date(1900, 1, 1)
    assert parse(values.date(), 59) == datetime.date(1900, 2, 28)
    assert parse(values.date(), 61) == datetime.date(1900, 3, 1)
    assert parse(values.date(), 45658) == datetime.date(2025, 1, 1)


@pytest.mark.parametrize(
    "raw",
    ["2026-09-01 08:30:00", "2026-09-01T08:30:00", "2026/9/1 8:30:00", "2026-09-01 08:30",
     "2026-09-01T00:30:00Z", "2026-09-01T08:30:00+08:00", datetime.datetime(2026, 9, 1, 8, 30),
     46266 + 8.5 / 24],
)  # fmt: skip
def test_timestamps_are_china_standard_time_returned_in_utc(raw: object) -> None:
    moment = parse(values.timestamp(), raw)
    assert moment == datetime.datetime(2026, 9, 1, 0, 30, tzinfo=UTC)
    assert moment.tzinfo is UTC  # type: ignore[attr-defined]


def test_timestamp_needs_a_time_of_day() -> None:
    assert "time" in refused(values.timestamp(), "2026-09-01").reason_en
    assert "time" in refused(values.timestamp(), datetime.date(2026, 9, 1)).reason_en


@pytest.mark.parametrize(
    "raw",
    ["2026-09", "202609", "2026/9", "2026.9", "2026年9月", "2026年09月", "2026-09-01",
     202609, 202609.0, datetime.datetime(2026, 9, 1)],
)  # fmt: skip
def test_month_forms(raw: object) -> None:
    assert parse(values.month(), raw) == SEPT_1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("2026-13", "not a month"), ("2026-09-15", "a day, not a month"), (7, "expected a month")],
)
def test_month_refusals(raw: object, reason: str) -> None:
    assert reason in refused(values.month(), raw).reason_en


# --- money ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fen"),
    [("7000.00", 700000), ("7,000.5", 700050), ("7000", 700000), ("¥7,000.50", 700050),
     ("7000元", 700000), ("￥7000.5", 700050), ("０.０１", 1), (".5", 50), ("12345678.99", 1234567899),
     (7000, 700000), (7000.5, 700050), (0.1, 10), (1234567.89, 123456789),
     (decimal.Decimal("7000.10"), 700010), ("7000.", 700000)],
)  # fmt: skip
def test_yuan_to_exact_fen(raw: object, fen: int) -> None:
    assert parse(values.yuan(), raw) == fen


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("7000.123", "more than two decimals"), (0.30000000000000004, "more than two decimals"),
     (7000.125, "more than two decimals"), ("-100.00", "negative"), ("70,00", "use a dot"),
     ("7 000", "not an amount"), ("abc", "not an amount"), (True, "expected an amount"),
     (float("nan"), "not a number"), ("1e5", "not an amount")],
)  # fmt: skip
def test_yuan_refusals(raw: object, reason: str) -> None:
    assert reason in refused(values.yuan(), raw).reason_en


def test_negative_yuan_where_allowed_and_back_to_text() -> None:
    kind = values.yuan(allow_negative=True)
    assert parse(kind, "-100.05") == -10005
    assert kind.text(-10005) == "-100.05"
    assert values.yuan().text(700050) == "7000.50"
    assert repr(values.yuan().to_cell(700050)) == "7000.5"


def test_fen_column() -> None:
    assert parse(values.fen(), "700000") == 700000
    assert parse(values.fen(), 700000.0) == 700000
    assert "less than 0" in refused(values.fen(), "-1").reason_en
    assert "not an amount in fen" in refused(values.fen(), "7000.5").reason_en


def test_integer_bounds() -> None:
    kind = values.integer(0, 31)
    assert parse(kind, "22") == 22
    assert parse(kind, 22.0) == 22
    assert "more than 31" in refused(kind, "32").reason_en
    assert "not a whole number" in refused(kind, "2.5").reason_en


# --- booleans and enumerations ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("是", True), ("否", False), ("Y", True), ("n", False), ("TRUE", True), ("false", False),
     ("1", True), ("0", False), (True, True), (0, False), (1.0, True)],
)  # fmt: skip
def test_booleans(raw: object, expected: bool) -> None:
    assert parse(values.boolean(), raw) is expected


def test_boolean_refusal_lists_the_accepted_values() -> None:
    assert "是/否" in refused(values.boolean(), "maybe").reason_en


STATUS = values.enumeration(
    {"paid": ("已发放", "成功", "success"), "failed": ("失败",), "returned": ("已退回",)}
)


@pytest.mark.parametrize(
    "raw", ["已发放", "成功", "PAID", "paid", "Paid", " paid ", "ＰＡＩＤ", "Success"]
)
def test_enumeration_synonyms_case_and_width(raw: str) -> None:
    assert parse(STATUS, raw) == "paid"


def test_enumeration_refuses_unknown_values_listing_the_accepted_ones() -> None:
    error = refused(STATUS, "done")
    assert "paid (已发放 / 成功 / success)" in error.reason_en
    assert "returned (已退回)" in error.reason_zh


def test_enumeration_declaration_with_a_clashing_synonym_fails_loudly() -> None:
    with pytest.raises(ValueError, match="names both"):
        values.enumeration({"paid": ("成功",), "failed": ("成功",)})


# --- masking -------------------------------------------------------------------------------


def test_mask_shows_first_three_and_last_four_of_sensitive_values() -> None:
    assert values.mask(ID, values.id_number()) == "410***********123X"
    assert values.mask("6217000011112222", values.card_number()) == "621*********2222"
    assert values.mask("张三", values.text()) == "张三"
