"""Money (yuan text → exact integer fen, or fen) and whole numbers."""

from __future__ import annotations

import decimal
from collections.abc import Callable
from typing import Final

from ingest.values.kinds import (
    MEMO_LIMIT,
    Kind,
    Parser,
    as_is,
    missing_value,
    number_text,
    refuse,
    to_ascii,
    type_name,
)

_MAX_FEN: Final = 10**15  # 10 trillion yuan: beyond any wage or contract, within BIGINT
_FAST_DIGITS: Final = 15  # fen below 10**15 (_MAX_FEN)
_CURRENCY_MARKS: Final = ("¥", "￥", "元", "RMB", "CNY")


def _grouped_ok(whole: str) -> bool:
    """`7,000` and `1,234,567` are thousands groups; `70,00` (a decimal comma) is not."""
    groups = whole.split(",")
    return 1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])


def _yuan_text_to_fen(text: str, allow_negative: bool, original: str) -> int:
    negative = text[0] == "-"
    if negative or text[0] == "+":
        text = text[1:]
    whole, dot, fraction = text.partition(".")
    if "," in whole:
        if not _grouped_ok(whole):
            refuse(
                f"'{original}' is not an amount in yuan: use a dot for decimals",
                f"“{original}”不是元金额：小数点请用“.”",
            )
        whole = whole.replace(",", "")
    if not (whole or fraction) or not (whole + fraction).isdigit() or not text.isascii():
        refuse(
            f"'{original}' is not an amount in yuan such as 7000.00",
            f"“{original}”不是元金额（如 7000.00）",
        )
    if dot and not fraction:
        fraction = ""
    if len(fraction) > 2:
        refuse(
            f"'{original}' has more than two decimals: amounts in yuan are exact to the fen",
            f"“{original}”超过两位小数：元金额只能精确到分",
        )
    fen = int(whole or "0") * 100 + int(fraction.ljust(2, "0"))
    if fen >= _MAX_FEN:
        refuse(f"'{original}' is implausibly large", f"“{original}”金额过大，不合常理")
    if negative and fen:
        if not allow_negative:
            refuse(
                f"'{original}' is negative; this column takes no negative amounts",
                f"“{original}”为负数，此列不接受负金额",
            )
        return -fen
    return fen


def _strip_currency(text: str) -> str:
    for mark in _CURRENCY_MARKS:
        if mark in text:
            text = text.replace(mark, "")
    return text.strip()


def _make_yuan(allow_negative: bool) -> Callable[[bool], Parser]:
    def make(required: bool) -> Parser:
        missing = missing_value(required)

        def parse(raw: object) -> object:
            if type(raw) is str:
                # fast path: "7000.50" / "7000" (other forms take the general path below)
                if len(raw) > 3 and raw[-3] == ".":
                    digits = raw[:-3] + raw[-2:]  # int() alone would accept "_", "+", " "
                    if digits.isdigit() and digits.isascii() and len(digits) <= _FAST_DIGITS:
                        return int(digits)
                elif raw.isdigit() and raw.isascii() and len(raw) <= _FAST_DIGITS - 2:
                    return int(raw) * 100
                value = raw.strip()
                if not value:
                    return missing()
                if not value.isascii() or not value[-1].isdigit():
                    value = _strip_currency(to_ascii(value))
                    if not value:
                        return missing()
                return _yuan_text_to_fen(value, allow_negative, raw.strip())
            if raw is None:
                return missing()
            if type(raw) is int:
                return _yuan_text_to_fen(str(raw), allow_negative, str(raw))
            if type(raw) is float:
                shown = repr(raw)  # what the spreadsheet stored, e.g. '4336.91', '4336.0'
                whole, _, fraction = shown.partition(".")
                if len(fraction) <= 2 and whole.isdigit() and len(whole) <= _FAST_DIGITS - 2:
                    return int(whole) * 100 + int(fraction.ljust(2, "0"))
                if raw != raw or raw in (float("inf"), float("-inf")):
                    refuse("not a number", "不是数字")
                shown = number_text(raw)
                return _yuan_text_to_fen(shown, allow_negative, shown)
            if isinstance(raw, decimal.Decimal):
                shown = format(raw, "f")
                return _yuan_text_to_fen(shown, allow_negative, shown)
            refuse(
                f"expected an amount in yuan, got {type_name(raw)}",
                f"应为元金额，实为 {type_name(raw)}",
            )

        return parse

    return make


def _fen_to_yuan_text(value: object) -> str:
    assert isinstance(value, int)
    sign = "-" if value < 0 else ""
    whole, fen = divmod(abs(value), 100)
    return f"{sign}{whole}.{fen:02d}"


def _fen_to_yuan_number(value: object) -> float:
    """For XLSX only: fen/100 is correctly rounded, and its repr reads back exactly."""
    assert isinstance(value, int)
    return value / 100


def yuan(*, allow_negative: bool = False) -> Kind:
    """An amount written in yuan (7000.00, 7,000.5, ¥7000, 7000元), returned as int fen."""
    sign_en = "" if allow_negative else ", not negative"
    sign_zh = "" if allow_negative else "，不可为负"
    return Kind(
        "yuan", f"amount in yuan, at most two decimals{sign_en}; stored in fen",
        f"金额（元），最多两位小数{sign_zh}；以分存储", _make_yuan(allow_negative),
        _fen_to_yuan_text, cell=_fen_to_yuan_number, unit_en="yuan", unit_zh="元",
        xlsx_format="0.00", extra={"allow_negative": allow_negative},
    )  # fmt: skip


def _integer_value(raw: object, what_en: str, what_zh: str) -> int:
    if type(raw) is str:
        value = to_ascii(raw)
        body = value[1:] if value[:1] in ("-", "+") else value
        if body.isdigit() and body.isascii():
            return int(value)
    elif type(raw) is int:
        return raw
    elif type(raw) is float and raw.is_integer():
        return int(raw)
    refuse(f"'{raw}' is not {what_en}", f"“{raw}”不是{what_zh}")


def _make_integer(
    minimum: int | None, maximum: int | None, what_en: str, what_zh: str
) -> Callable[[bool], Parser]:
    def make(required: bool) -> Parser:
        missing = missing_value(required)

        memo: dict[str, int] = {}

        def parse(raw: object) -> object:
            if type(raw) is str:
                known = memo.get(raw)
                if known is not None:
                    return known
                text = raw.strip()
                if not text:
                    return missing()
                number = _integer_value(text, what_en, what_zh)
                within_bounds(number)
                if len(memo) < MEMO_LIMIT:
                    memo[raw] = number
                return number
            if raw is None:
                return missing()
            number = _integer_value(raw, what_en, what_zh)
            within_bounds(number)
            return number

        def within_bounds(number: int) -> None:
            if minimum is not None and number < minimum:
                refuse(f"{number} is less than {minimum}", f"{number} 小于 {minimum}")
            if maximum is not None and number > maximum:
                refuse(f"{number} is more than {maximum}", f"{number} 大于 {maximum}")

        return parse

    return make


def _int_text(value: object) -> str:
    return str(value)


def fen(*, allow_negative: bool = False) -> Kind:
    """An amount already in fen (分), as an integer."""
    return Kind(
        "fen", "amount in fen (integer)", "金额（分，整数）",
        _make_integer(None if allow_negative else 0, _MAX_FEN - 1, "an amount in fen", "分金额"),
        _int_text, cell=as_is, json=as_is, unit_en="fen", unit_zh="分",
    )  # fmt: skip


def integer(minimum: int | None = None, maximum: int | None = None, unit: str = "") -> Kind:
    """A whole number, optionally bounded."""
    bounds = f" {minimum if minimum is not None else ''}..{maximum if maximum is not None else ''}"
    return Kind(
        "integer", "whole number" + (bounds if bounds.strip() != ".." else ""),
        "整数" + (bounds if bounds.strip() != ".." else ""),
        _make_integer(minimum, maximum, "a whole number", "整数"), _int_text, cell=as_is,
        json=as_is, unit_en=unit, unit_zh=unit,
    )  # fmt: skip


def _days_text(value: object) -> str:
    """A day mask as the days it holds, runs folded: 1-3,5,7-9."""
    assert isinstance(value, int)
    days = [day for day in range(1, 32) if value >> (day - 1) & 1]
    runs: list[str] = []
    start = previous = None
    for day in [*days, None]:
        if start is not None and day == previous + 1:  # type: ignore[operator]
            previous = day
            continue
        if start is not None:
            runs.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = day
    return ",".join(runs)


def _day_number(part: str, original: str) -> int:
    if not (part.isdigit() and part.isascii() and 1 <= int(part) <= 31):
        refuse(
            f"'{original}' is not a list of days of the month such as 1-3,5,8",
            f"“{original}”不是当月日期列表（如 1-3,5,8）",
        )
    return int(part)


def _make_days(required: bool) -> Parser:
    missing = missing_value(required)

    def parse(raw: object) -> object:
        if raw is None:
            return missing()
        if type(raw) is int or (type(raw) is float and raw.is_integer()):
            raw = str(int(raw))
        if type(raw) is list:  # JSON Lines: [1, 2, 3]
            raw = ",".join(str(item) for item in raw)
        if type(raw) is not str:
            refuse(f"expected days of the month, got {type_name(raw)}", "应为当月日期列表")
        text = to_ascii(raw).replace("，", ",").replace("、", ",").replace(" ", "")
        if not text:
            return missing()
        mask = 0
        for part in text.split(","):
            first, dash, last = part.partition("-")
            low = _day_number(first, raw)
            high = _day_number(last, raw) if dash else low
            if high < low:
                _day_number("", raw)
            for day in range(low, high + 1):
                mask |= 1 << (day - 1)
        return mask

    return parse


def days_of_month() -> Kind:
    """The days of one month something happened on (attendance): `1-3,5,8`, stored as a
    bit mask (bit d-1 = day d)."""
    return Kind(
        "days", "days of the month, e.g. 1-3,5,8", "当月日期，如 1-3,5,8", _make_days, _days_text,
        json=lambda value: [d for d in range(1, 32) if value >> (d - 1) & 1],  # type: ignore[operator]
    )  # fmt: skip
