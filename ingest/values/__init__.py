"""Cell parsers: what agencies type into a column, turned into one exact Python value.

Each kind of column is a `Kind`: a parser built once per column (so the hot path does no
set-up), the way to write a typed value back out (for exports), and the labels the data
dictionary prints. A parser takes what a reader produced — `str` from CSV, `str`/`float`/
`bool`/`datetime` from XLSX, JSON scalars from JSON Lines — and returns the typed value,
`None` for an empty optional cell, or raises `InvalidValue` (or `CellWarning` when it
accepts the value with a remark) with a reason in English and Chinese.

Decisions that matter:
- Money is integer fen. Yuan text is parsed digit by digit (no float, no rounding); a float
  from XLSX is taken through its shortest `repr`, which is exactly what Excel stored, and
  refused when that is not a number with at most two decimals.
- Date-times agencies write carry no zone: they are China Standard Time (+08:00) and are
  returned as UTC-aware datetimes. Excel serial numbers use the 1900 date system with its
  fictitious 1900-02-29 (serial 60), which is refused.
- Text that starts like a spreadsheet formula (`=`, `@`, tab, CR, or `+`/`-` followed by
  something other than a phone-like number) is refused, so nothing we store can run as a
  formula when someone opens an export.
- ID numbers follow `kernel.identifiers.validate_id_number` (including its refusal of a
  birth date after today); a fast equivalent check runs first and the shared one decides
  whenever the fast one has doubts.
- A credit code whose only fault is its check character is accepted with a warning when
  its structure holds (registration authority, 6-digit region with a known province, and
  a valid GB 11714 organisation code inside): early codes issued with a wrong check
  character are still legal. Anything else wrong is an error.
"""

from __future__ import annotations

from ingest.values.choices import boolean, enumeration
from ingest.values.dates import date, month, timestamp
from ingest.values.identifiers import card_number, case_number, id_number, region_code, uscc
from ingest.values.kinds import CHINA_STANDARD_TIME, Kind, Parser, mask
from ingest.values.numbers import days_of_month, fen, integer, yuan
from ingest.values.text import text

__all__ = [
    "CHINA_STANDARD_TIME",
    "Kind",
    "Parser",
    "boolean",
    "card_number",
    "case_number",
    "date",
    "days_of_month",
    "enumeration",
    "fen",
    "id_number",
    "integer",
    "mask",
    "month",
    "region_code",
    "text",
    "timestamp",
    "uscc",
    "yuan",
]
