"""Scalars that validate the hub's keys and values as they enter, so a bad ID number is a
clear BAD_USER_INPUT before any connector is asked."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, NewType, TypeAlias, TypeVar

import strawberry
from strawberry.types.scalar import ScalarDefinition

from kernel.errors import BadUserInput
from kernel.identifiers import (
    validate_case_number,
    validate_id_number,
    validate_uscc,
)

# Type checkers see the underlying type; strawberry maps each NewType to its scalar.
if TYPE_CHECKING:
    IdNumber: TypeAlias = str
    USCC: TypeAlias = str
    CaseNumber: TypeAlias = str
    YearMonth: TypeAlias = date
    RegionCodePrefix: TypeAlias = str
    Fen: TypeAlias = int
else:
    IdNumber = NewType("IdNumber", str)
    USCC = NewType("USCC", str)
    CaseNumber = NewType("CaseNumber", str)
    YearMonth = NewType("YearMonth", date)
    RegionCodePrefix = NewType("RegionCodePrefix", str)
    Fen = NewType("Fen", int)

_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_MONTH = date(1900, 1, 1)
LAST_MONTH = date(2199, 12, 1)
"""The months the hub takes: wider than any record it holds, narrow enough that no month
arithmetic (a range, the month after, its last day) runs off the calendar."""
T = TypeVar("T")
_REGION_PREFIX = re.compile(r"^\d{1,6}$")
# JavaScript clients read JSON numbers as doubles: amounts stay exact up to 2**53 fen.
_MAX_SAFE_INTEGER = 2**53 - 1


def _refusing(parse: Callable[[object], T]) -> Callable[[object], T]:
    """A scalar's parser that refuses only with BadUserInput: a ValueError from deep in
    a conversion would otherwise read as the hub's own fault (INTERNAL_SERVER_ERROR)."""

    def refusing(value: object) -> T:
        try:
            return parse(value)
        except BadUserInput:
            raise
        except (ValueError, TypeError, OverflowError) as error:
            raise BadUserInput(f"{value!r}: {error}") from error

    return refusing


def _checked(validate: Callable[[str], str]) -> Callable[[object], str]:
    @_refusing
    def parse(value: object) -> str:
        if not isinstance(value, str):
            raise BadUserInput(f"expected a string, got {type(value).__name__}")
        return validate(value)  # InvalidIdentifier is a BadUserInput: BAD_USER_INPUT

    return parse


_IDNUMBER_SCALAR = strawberry.scalar(
    name="IdNumber",
    description="公民身份号码: 18 characters, GB 11643 check character verified.",
    serialize=str,
    parse_value=_checked(validate_id_number),
)

_USCC_SCALAR = strawberry.scalar(
    name="USCC",
    description="统一社会信用代码: 18 characters, GB 32100 check character verified.",
    serialize=str,
    parse_value=_checked(validate_uscc),
)

_CASENUMBER_SCALAR = strawberry.scalar(
    name="CaseNumber",
    description="案号, e.g. （2024）豫0183民初1234号; ASCII parentheses are accepted.",
    serialize=str,
    parse_value=_checked(validate_case_number),
)


@_refusing
def parse_year_month(value: object) -> date:
    match = _YEAR_MONTH.match(value) if isinstance(value, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise BadUserInput(f"month {value!r}: expected YYYY-MM, e.g. 2026-10")
    year = int(match.group(1))
    if not FIRST_MONTH.year <= year <= LAST_MONTH.year:
        raise BadUserInput(
            f"month {value!r}: expected a month from {FIRST_MONTH:%Y-%m} to {LAST_MONTH:%Y-%m}"
        )
    return date(year, int(match.group(2)), 1)


def in_months(month: date, since: date | None, until: date | None) -> bool:
    """Whether `month` lies in the optional inclusive range of months."""
    return (since is None or month >= since) and (until is None or month <= until)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


@functools.lru_cache(maxsize=1024)
def month_end(month: date) -> date:
    """The month's last day. Kept per month: assessing a project asks it for each of its
    registrations and contracts, and each data source (0.66 µs a call, 0.08 µs kept)."""
    return next_month(month) - timedelta(days=1)


def months_between(first: date, last: date) -> list[date]:
    """Every month from `first` to `last`, inclusive."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


_YEARMONTH_SCALAR = strawberry.scalar(
    name="YearMonth",
    description="A calendar month, written YYYY-MM, from 1900-01 to 2199-12.",
    serialize=lambda value: value.strftime("%Y-%m"),
    parse_value=parse_year_month,
)


@_refusing
def parse_region_prefix(value: object) -> str:
    if not isinstance(value, str) or not _REGION_PREFIX.match(value):
        raise BadUserInput(
            f"region code prefix {value!r}: expected 1 to 6 digits of an administrative "
            "division code, e.g. 41 (河南省), 4101 (郑州市) or 410183 (新密市)"
        )
    return value


_REGIONCODEPREFIX_SCALAR = strawberry.scalar(
    name="RegionCodePrefix",
    description="The leading digits of a 6-digit administrative division code (GB/T 2260).",
    serialize=str,
    parse_value=parse_region_prefix,
)


def _serialize_fen(value: int) -> int:
    if abs(value) > _MAX_SAFE_INTEGER:
        raise ValueError("amount exceeds the safe integer range")
    return value


@_refusing
def _parse_fen(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > _MAX_SAFE_INTEGER:
        raise BadUserInput(f"amount {value!r}: expected an integer number of fen (分)")
    return value


_FEN_SCALAR = strawberry.scalar(
    name="Fen",
    description="An amount of money in fen (分, 1/100 yuan) as an integer; never a float.",
    serialize=_serialize_fen,
    parse_value=_parse_fen,
)


@_refusing
def parse_date_time(value: object) -> datetime:
    """An ISO 8601 time with its UTC offset, as UTC: the hub stores every time in UTC,
    and a time without an offset names no moment."""
    if not isinstance(value, str):
        raise BadUserInput(f"expected an ISO 8601 date and time, got {type(value).__name__}")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise BadUserInput(
            f"time {value!r} has no UTC offset: write e.g. 2026-10-31T08:00:00+08:00 or …Z"
        )
    return moment.astimezone(UTC)


_DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description="Date with time (isoformat), with its UTC offset.",
    serialize=lambda value: value.isoformat(),
    parse_value=parse_date_time,
)


SCALAR_MAP: dict[object, ScalarDefinition] = {
    datetime: _DATETIME_SCALAR,
    IdNumber: _IDNUMBER_SCALAR,
    USCC: _USCC_SCALAR,
    CaseNumber: _CASENUMBER_SCALAR,
    YearMonth: _YEARMONTH_SCALAR,
    RegionCodePrefix: _REGIONCODEPREFIX_SCALAR,
    Fen: _FEN_SCALAR,
}
