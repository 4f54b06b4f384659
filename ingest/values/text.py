"""Free text: trimmed, NFC, no control characters, nothing a spreadsheet would run."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Final

from ingest.values.kinds import (
    Kind,
    Parser,
    as_text,
    memoized,
    missing_value,
    number_text,
    refuse,
    type_name,
)

_FORMULA_STARTS: Final = frozenset("=@\t\r")
_SIGN_STARTS: Final = frozenset("+-")
_PHONE_LIKE: Final = frozenset("0123456789 -()")


def _formula_like(text: str) -> bool:
    """Whether a spreadsheet would treat the text as a formula (OWASP CSV injection).

    `+86 138 0013 8000` and `-` alone are data; `+cmd|...`, `-2+3+cmd|...` are not.
    """
    first = text[0]
    if first in _FORMULA_STARTS:
        return True
    if first in _SIGN_STARTS:
        return len(text) > 1 and not _PHONE_LIKE.issuperset(text[1:])
    return False


def _bad_character(text: str) -> str | None:
    """The first control, format, private-use, unassigned or line-breaking character."""
    for char in text:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            return f"U+{ord(char):04X}"
    return None


def _make_text(max_length: int | None) -> Callable[[bool], Parser]:
    def make(required: bool) -> Parser:
        missing = missing_value(required)

        def parse(raw: object) -> object:
            if type(raw) is str:
                text = raw.strip()
                if not text:
                    return missing()
            elif raw is None:
                return missing()
            elif type(raw) is int:
                text = str(raw)
            elif type(raw) is float:
                if raw != raw or abs(raw) >= 1e15:
                    refuse(
                        "a number where text was expected: the spreadsheet may have rounded"
                        " it; format the column as text",
                        "此列应为文本，却是数字，表格软件可能已丢失位数；请将该列设为文本格式",
                    )
                text = str(int(raw)) if raw.is_integer() else number_text(raw)
            else:
                refuse(f"expected text, got {type_name(raw)}", f"应为文本，实为 {type_name(raw)}")
            if not text.isprintable():
                bad = _bad_character(text)
                if bad is not None:
                    refuse(
                        f"contains the control or invisible character {bad}",
                        f"含有控制字符或不可见字符 {bad}",
                    )
            if not text.isascii() and not unicodedata.is_normalized("NFC", text):
                text = unicodedata.normalize("NFC", text)
            if _formula_like(text):
                refuse(
                    "starts like a spreadsheet formula (=, +, -, @); refused so that it"
                    " cannot run when the data is opened in a spreadsheet",
                    "以公式字符（= + - @）开头，为防止在表格软件中被当作公式执行，不予接收",
                )
            if max_length is not None and len(text) > max_length:
                refuse(
                    f"longer than {max_length} characters ({len(text)})",
                    f"超过 {max_length} 个字符（{len(text)} 个）",
                )
            return text

        return memoized(parse)

    return make


def text(max_length: int | None = None) -> Kind:
    """Free text: trimmed, NFC, no control characters, nothing formula-like."""
    limit_en = f", at most {max_length} characters" if max_length else ""
    limit_zh = f"，不超过 {max_length} 个字符" if max_length else ""
    return Kind(
        "text", "text" + limit_en, "文本" + limit_zh, _make_text(max_length), as_text,
        extra={"max_length": max_length},
    )  # fmt: skip
