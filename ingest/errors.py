"""What can go wrong when agency data comes in, in English and Chinese.

    InvalidValue         one cell is wrong; the validator turns it into a report line
    │                    and carries on (never escapes `ingest.validate`)
    CellWarning          one cell is accepted with a remark (e.g. an early credit code);
    │                    carries the value to keep
    IngestError          the file as a whole cannot be read: undecodable bytes, a damaged
                         XLSX, a required column missing, no header; one message for the
                         whole file (a `BadUserInput`, so callers answer 400, not 500)

Reasons are written for the person who fixes the file: what is wrong and what is expected,
never the full ID or card number (reports are mailed around).
"""

from __future__ import annotations

from kernel.errors import BadUserInput


class InvalidValue(ValueError):
    """A cell the column cannot accept."""

    __slots__ = ("reason_en", "reason_zh")

    def __init__(self, reason_en: str, reason_zh: str) -> None:
        super().__init__(reason_en)
        self.reason_en = reason_en
        self.reason_zh = reason_zh


class CellWarning(Exception):
    """A cell accepted as `value`, with a remark the report shows as a warning."""

    __slots__ = ("reason_en", "reason_zh", "value")

    def __init__(self, value: object, reason_en: str, reason_zh: str) -> None:
        super().__init__(reason_en)
        self.value = value
        self.reason_en = reason_en
        self.reason_zh = reason_zh


class IngestError(BadUserInput):
    """The whole file is refused; `row` is where reading stopped, when known."""

    def __init__(self, reason_en: str, reason_zh: str, *, row: int | None = None) -> None:
        where_en = f"row {row}: " if row is not None else ""
        where_zh = f"第 {row} 行：" if row is not None else ""
        super().__init__(where_en + reason_en, reason_zh=where_zh + reason_zh, row=row)
        self.reason_en = where_en + reason_en
        self.reason_zh = where_zh + reason_zh
        self.row = row
