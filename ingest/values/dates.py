"""Days, moments and months in the forms agencies write, Excel serials included."""

from __future__ import annotations

import datetime
from typing import Final, NoReturn

from ingest.values.kinds import (
    CHINA_STANDARD_TIME,
    UTC,
    Kind,
    Parser,
    memoized,
    missing_value,
    number_text,
    refuse,
    to_ascii,
    type_name,
)

_EXCEL_EPOCH: Final = datetime.datetime(1899, 12, 30)
_EXCEL_MAX_SERIAL: Final = 2_958_465  # 9999-12-31


def _excel_serial(serial: float) -> datetime.datetime:
    """A naive local date-time from an Excel 1900-system serial (60 is the fake 1900-02-29)."""
    if not 1 <= serial < _EXCEL_MAX_SERIAL + 1:
        refuse(
            f"{number_text(serial)} is not a date: spreadsheet date serials run from 1"
            " (1900-01-01)",
            f"{number_text(serial)} 不是日期：表格日期序号从 1（1900-01-01）开始",
        )
    if 60 <= serial < 61:
        refuse(
            "serial 60 is 1900-02-29, a day that never existed (a spreadsheet leap-year bug)",
            "日期序号 60 对应 1900-02-29，该日不存在（表格软件的闰年缺陷）",
        )
    days = int(serial)
    seconds = round((serial - days) * 86_400)
    if serial < 60:
        days += 1  # before the fake leap day, day 1 is 1900-01-01 = epoch + 2
    return _EXCEL_EPOCH + datetime.timedelta(days=days, seconds=seconds)


_DATE_FORMS_EN: Final = "2026-09-01, 2026/9/1, 2026.9.1, 20260901 or 2026年9月1日"
_DATE_FORMS_ZH: Final = "2026-09-01、2026/9/1、2026.9.1、20260901 或 2026年9月1日"


def _bad_date(text: str) -> NoReturn:
    refuse(
        f"'{text}' is not a date; write {_DATE_FORMS_EN}",
        f"“{text}”不是日期，请写成 {_DATE_FORMS_ZH}",
    )


def _date_parts(text: str) -> tuple[str, str, str] | None:
    """Year, month and day strings of the forms agencies write, or None."""
    if "年" in text:
        text = text.replace("年", "-").replace("月", "-").removesuffix("日").removesuffix("号")
    for separator in "-/.":
        if separator in text:
            parts = text.split(separator)
            if len(parts) == 3:
                return parts[0], parts[1], parts[2]
            return None
    if len(text) == 8:
        return text[:4], text[4:6], text[6:]
    return None


def _parse_date_text(text: str) -> datetime.date:
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass  # the general path below says what is wrong
    text = to_ascii(text)
    parts = _date_parts(text)
    if parts is None:
        _bad_date(text)
    year, month, day = parts
    if not (
        len(year) == 4
        and 1 <= len(month) <= 2
        and 1 <= len(day) <= 2
        and (year + month + day).isdigit()
        and (year + month + day).isascii()
    ):
        _bad_date(text)
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError:
        refuse(f"{text}: no such day", f"{text}：日期不存在")


def _split_date_time(text: str) -> tuple[str, str] | None:
    """`2026-09-01 08:30:00` / `2026-09-01T08:30:00` → date part, time part."""
    for separator in (" ", "T"):
        date_part, found, time_part = text.partition(separator)
        if found:
            return date_part, time_part.strip()
    return None


def _parse_time_text(text: str, original: str) -> tuple[datetime.time, bool]:
    """A time of day and whether it carried its own UTC offset (`Z`, `+08:00`)."""
    try:
        parsed = datetime.time.fromisoformat(text if text[1:2] != ":" else "0" + text)
    except ValueError:
        refuse(
            f"'{original}' is not a date and time; write 2026-09-01 08:30:00",
            f"“{original}”不是日期时间，请写成 2026-09-01 08:30:00",
        )
    return parsed, parsed.tzinfo is not None


def _make_date(required: bool) -> Parser:
    missing = missing_value(required)

    def parse(raw: object) -> object:
        if type(raw) is str:
            value = raw.strip()
            if not value:
                return missing()
            if len(value) <= 5 and value.isdigit():
                return _excel_serial(int(value)).date()
            if len(value) > 10 and (" " in value or "T" in value):
                split = _split_date_time(value)
                if split is not None:
                    _parse_time_text(split[1], value)
                    return _parse_date_text(split[0])
            return _parse_date_text(value)
        if raw is None:
            return missing()
        if isinstance(raw, datetime.datetime):
            if raw.tzinfo is not None:
                return raw.astimezone(CHINA_STANDARD_TIME).date()
            return raw.date()
        if isinstance(raw, datetime.date):
            return raw
        if type(raw) is int or type(raw) is float:
            return _excel_serial(raw).date()
        refuse(f"expected a date, got {type_name(raw)}", f"应为日期，实为 {type_name(raw)}")

    return memoized(parse)


def _iso_date(value: object) -> str:
    assert isinstance(value, datetime.date)
    return value.isoformat()


def date() -> Kind:
    """A calendar day in any form agencies write, including Excel serials."""
    return Kind(
        "date", f"date ({_DATE_FORMS_EN})", f"日期（{_DATE_FORMS_ZH}）", _make_date, _iso_date,
        cell=lambda value: value, xlsx_format="yyyy-mm-dd",
    )  # fmt: skip


def _make_timestamp(required: bool) -> Parser:
    missing = missing_value(required)

    def parse(raw: object) -> object:
        if type(raw) is str:
            value = raw.strip()
            if not value:
                return missing()
            if (
                len(value) == 19
                and value[10] == " "
                and value[4] == "-"
                and value[13] == ":"
                and value.isascii()
            ):
                try:
                    local = datetime.datetime.fromisoformat(value)
                except ValueError:
                    local = None
                if local is not None:
                    return local.replace(tzinfo=CHINA_STANDARD_TIME).astimezone(UTC)
            value = to_ascii(value)
            split = _split_date_time(value)
            if split is None:
                refuse(
                    f"'{value}' has no time of day; write 2026-09-01 08:30:00",
                    f"“{value}”缺少时间，请写成 2026-09-01 08:30:00",
                )
            day = _parse_date_text(split[0])
            clock, zoned = _parse_time_text(split[1], value)
            moment = datetime.datetime.combine(day, clock)
            if not zoned:
                moment = moment.replace(tzinfo=CHINA_STANDARD_TIME)
            return moment.astimezone(UTC)
        if raw is None:
            return missing()
        if isinstance(raw, datetime.datetime):
            if raw.tzinfo is None:
                raw = raw.replace(tzinfo=CHINA_STANDARD_TIME)
            return raw.astimezone(UTC)
        if isinstance(raw, datetime.date):
            refuse(
                "a date without a time of day; write 2026-09-01 08:30:00",
                "只有日期没有时间，请写成 2026-09-01 08:30:00",
            )
        if type(raw) is int or type(raw) is float:
            local = _excel_serial(raw)
            return local.replace(tzinfo=CHINA_STANDARD_TIME).astimezone(UTC)
        refuse(
            f"expected a date and time, got {type_name(raw)}",
            f"应为日期时间，实为 {type_name(raw)}",
        )

    return memoized(parse)


def _local_timestamp(value: object) -> str:
    assert isinstance(value, datetime.datetime)
    return value.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M:%S")


def _naive_local(value: object) -> object:
    assert isinstance(value, datetime.datetime)
    return value.astimezone(CHINA_STANDARD_TIME).replace(tzinfo=None)


def _iso_timestamp(value: object) -> object:
    assert isinstance(value, datetime.datetime)
    return value.astimezone(CHINA_STANDARD_TIME).isoformat()


def timestamp() -> Kind:
    """A moment: `yyyy-MM-dd HH:mm:ss` in China Standard Time, returned UTC-aware."""
    return Kind(
        "timestamp", "date and time (2026-09-01 08:30:00, China Standard Time)",
        "日期时间（2026-09-01 08:30:00，北京时间）", _make_timestamp, _local_timestamp,
        cell=_naive_local, json=_iso_timestamp, xlsx_format="yyyy-mm-dd hh:mm:ss",
    )  # fmt: skip


_MONTH_FORMS_EN: Final = "2026-09, 202609, 2026/9 or 2026年9月"
_MONTH_FORMS_ZH: Final = "2026-09、202609、2026/9 或 2026年9月"


def _bad_month(value: str) -> NoReturn:
    refuse(
        f"'{value}' is not a month; write {_MONTH_FORMS_EN}",
        f"“{value}”不是月份，请写成 {_MONTH_FORMS_ZH}",
    )


def _month_of(year: str, month: str, original: str) -> datetime.date:
    if not (len(year) == 4 and 1 <= len(month) <= 2 and (year + month).isdigit()):
        _bad_month(original)
    try:
        return datetime.date(int(year), int(month), 1)
    except ValueError:
        _bad_month(original)


def _first_of_month(day: datetime.date, original: str) -> datetime.date:
    if day.day != 1:
        refuse(
            f"'{original}' is a day, not a month; write {_MONTH_FORMS_EN}",
            f"“{original}”是某一天而不是月份，请写成 {_MONTH_FORMS_ZH}",
        )
    return day


def _make_month(required: bool) -> Parser:
    missing = missing_value(required)

    def parse(raw: object) -> object:
        if type(raw) is str:
            value = raw.strip()
            if not value:
                return missing()
            if len(value) == 7 and value[4] == "-" and value.isascii():
                return _month_of(value[:4], value[5:], value)
            value = to_ascii(value)
            if len(value) == 6 and value.isdigit():
                return _month_of(value[:4], value[4:], value)
            plain = value.replace("年", "-").removesuffix("月") if "年" in value else value
            for separator in "-/.":
                parts = plain.split(separator)
                if len(parts) == 2:
                    return _month_of(parts[0], parts[1], value)
                if len(parts) == 3:
                    return _first_of_month(_parse_date_text(value), value)
            _bad_month(value)
        if raw is None:
            return missing()
        if isinstance(raw, datetime.datetime):
            return _first_of_month(raw.date(), raw.isoformat(sep=" "))
        if isinstance(raw, datetime.date):
            return _first_of_month(raw, raw.isoformat())
        if (type(raw) is int or (type(raw) is float and raw.is_integer())) and (
            190001 <= raw <= 999912
        ):
            value = str(int(raw))
            return _month_of(value[:4], value[4:], value)
        refuse(f"expected a month, got {raw!r}", f"应为月份，实为 {raw!r}")

    return memoized(parse)


def _month_text(value: object) -> str:
    assert isinstance(value, datetime.date)
    return f"{value.year:04d}-{value.month:02d}"


def month() -> Kind:
    """A calendar month (a pay period), returned as the first day of that month."""
    return Kind(
        "month", f"month ({_MONTH_FORMS_EN})", f"月份（{_MONTH_FORMS_ZH}）", _make_month,
        _month_text,
    )  # fmt: skip
