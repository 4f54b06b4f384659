"""The `Kind` of a column and the pieces every parser shares.

A parser gets a cell as a reader produced it and returns the typed value, `None` for an
empty optional cell, or raises `InvalidValue` (or `CellWarning`) with bilingual reasons.
"""

from __future__ import annotations

import datetime
import decimal
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, NoReturn

from ingest.errors import InvalidValue
from kernel.identifiers import mask_id_number

Parser = Callable[[object], object]

CHINA_STANDARD_TIME: Final = datetime.timezone(datetime.timedelta(hours=8), "CST")
UTC: Final = datetime.UTC


@dataclass(frozen=True, slots=True)
class Kind:
    """A type of column: how to read a cell, how to write the value back, how to describe it.

    `make(required)` builds the parser for one column. `text` renders a typed value for
    CSV, `cell` for XLSX (numbers and dates stay numbers and dates there), `json` for JSON
    Lines. `sensitive` values are masked in reports (first 3 and last 4 characters).
    """

    name: str
    label_en: str
    label_zh: str
    make: Callable[[bool], Parser]
    text: Callable[[object], str]
    cell: Callable[[object], object] | None = None
    json: Callable[[object], object] | None = None
    unit_en: str = ""
    unit_zh: str = ""
    accepted: tuple[str, ...] = ()
    sensitive: bool = False
    xlsx_format: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)

    def to_cell(self, value: object) -> object:
        return self.cell(value) if self.cell is not None else self.text(value)

    def to_json(self, value: object) -> object:
        return self.json(value) if self.json is not None else self.text(value)


# --- shared pieces -----------------------------------------------------------------------

_REQUIRED_EN: Final = "a value is required"
_REQUIRED_ZH: Final = "必填项不能为空"


def missing_value(required: bool) -> Callable[[], None]:
    """What an empty cell gives: an error for a required column, None otherwise."""
    if required:

        def required_missing() -> None:
            raise InvalidValue(_REQUIRED_EN, _REQUIRED_ZH)

        return required_missing
    return none


def none() -> None:
    return None


def refuse(reason_en: str, reason_zh: str) -> NoReturn:
    raise InvalidValue(reason_en, reason_zh)


def to_ascii(text: str) -> str:
    """Full-width digits and letters (１２３, Ｘ) folded to ASCII; other text unchanged."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def type_name(raw: object) -> str:
    return type(raw).__name__


def number_text(raw: float) -> str:
    """The decimal text of a float exactly as stored: the shortest repr that round-trips."""
    text = repr(raw)
    if "e" in text or "E" in text:
        text = format(decimal.Decimal(text), "f")
    return text


MEMO_LIMIT: Final = 4096
"""Distinct cell texts a parser remembers the result of: months, dates, statuses, project
codes repeat on every row of a file, so most cells become one dict look-up."""


def memoized(parse: Parser) -> Parser:
    """`parse` remembering its results for up to MEMO_LIMIT distinct texts (values are
    immutable, so a shared result is safe; errors are never remembered)."""
    memo: dict[str, object] = {}

    def remembering(raw: object) -> object:
        if type(raw) is str:
            known = memo.get(raw)
            if known is not None:
                return known
            value = parse(raw)
            if value is not None and len(memo) < MEMO_LIMIT:
                memo[raw] = value
            return value
        return parse(raw)

    return remembering


def as_text(value: object) -> str:
    return str(value)


def as_is(value: object) -> object:
    return value


def mask(value: object, kind: Kind) -> str:
    """How a cell appears in a report: sensitive kinds keep only the first 3 and last 4."""
    shown = value if isinstance(value, str) else repr(value) if value is not None else ""
    if kind.sensitive:
        return mask_id_number(shown.strip())
    return shown if len(shown) <= 200 else shown[:200] + "…"
