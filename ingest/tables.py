"""Declarations of importable tables: one source for the importer, the exporter and the docs.

A `TableSpec` lists its `ColumnSpec`s in order, the columns that form its natural key (rows
are upserted by it; two rows with the same key in one file are an error), and optional
row rules that look at several columns at once. The data dictionary an agency reads is
rendered from the same objects (`data_dictionary`), so it cannot drift from what is checked.

Headers are matched after `normalize_header`: trimmed, full-width folded to half-width,
case-folded, spaces and a trailing unit such as `(元)` / `（元）` dropped. A column answers
to its `name` (the hub's field), its Chinese `title` (what exports write), and its
`synonyms` (other Chinese headers and the national interface's field names).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from ingest.values import Kind

Problem = tuple[str, str, str]
"""(column name, reason_en, reason_zh)."""


@dataclass(frozen=True, slots=True)
class RowRule:
    """A check across columns: `check` gets the typed values of `columns`, in that order,
    and returns a Problem when the row is wrong (positional, so no dict is built per row)."""

    columns: tuple[str, ...]
    check: Callable[..., Problem | None]


_UNIT_SUFFIXES: Final = ("(元)", "(分)", "(天)", "(小时)", "(yuan)", "(fen)", "(rmb)", "(cny)")


def normalize_header(header: str) -> str:
    """The form headers are compared in: `实发金额（元）` and ` 实发金额 ` both → `实发金额`."""
    folded = unicodedata.normalize("NFKC", header).strip().casefold()
    folded = folded.replace(" ", "").replace("_", "").replace("-", "")
    folded = folded.replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")")
    for suffix in _UNIT_SUFFIXES:
        if folded.endswith(suffix):
            return folded[: -len(suffix)]
    return folded


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: the hub's field `name`, its Chinese `title`, its kind and its aliases."""

    name: str
    title: str
    kind: Kind
    required: bool = True
    synonyms: tuple[str, ...] = ()
    description_en: str = ""
    description_zh: str = ""

    @property
    def unit(self) -> tuple[str, str]:
        return self.kind.unit_en, self.kind.unit_zh

    @property
    def accepted(self) -> tuple[str, ...]:
        return self.kind.accepted

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header this column answers to, as declared."""
        return (self.name, self.title, *self.synonyms)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An importable table of one agency."""

    agency: str
    name: str
    title: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    title_en: str = ""
    description_en: str = ""
    description_zh: str = ""
    rules: tuple[RowRule, ...] = ()
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.agency}.{self.name}: duplicate column names")
        for key in (*self.key, *(name for rule in self.rules for name in rule.columns)):
            if key not in names:
                raise ValueError(f"{self.agency}.{self.name}: column {key!r} not declared")
        for position, column in enumerate(self.columns):
            for header in column.headers:
                normal = normalize_header(header)
                previous = self._index.setdefault(normal, position)
                if previous != position:
                    raise ValueError(
                        f"{self.agency}.{self.name}: header {header!r} names both"
                        f" {self.columns[previous].name!r} and {column.name!r}"
                    )

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column_for(self, header: str) -> int | None:
        """The position of the column a header names, or None for an unknown header."""
        return self._index.get(normalize_header(header))

    def key_positions(self) -> tuple[int, ...]:
        names = self.column_names
        return tuple(names.index(key) for key in self.key)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def data_dictionary(table: TableSpec) -> str:
    """The table's data dictionary in Markdown, from the declarations the importer uses."""
    lines = [
        f"### {table.title} `{table.agency}.{table.name}`"
        + (f" — {table.title_en}" if table.title_en else ""),
        "",
    ]
    if table.description_zh or table.description_en:
        lines += [" ".join(filter(None, (table.description_zh, table.description_en))), ""]
    key_titles = "、".join(
        f"{column.title} `{column.name}`" for column in table.columns if column.name in table.key
    )
    lines += [
        f"主键（同一文件内不得重复，重复导入按此更新）/ natural key: {key_titles}",
        "",
        "| 列 column | 可用表头 headers accepted | 类型 type | 单位 unit | 可接受值 accepted values"
        " | 必填 required | 主键 key | 说明 description |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for column in table.columns:
        kind = column.kind
        unit = " / ".join(dict.fromkeys(filter(None, reversed(column.unit))))
        accepted = "<br>".join(column.accepted)
        description = " ".join(filter(None, (column.description_zh, column.description_en)))
        sensitive = "（敏感，报告中脱敏 / masked in reports）" if kind.sensitive else ""
        lines.append(
            "| "
            + " | ".join(
                _cell(part)
                for part in (
                    f"{column.title} `{column.name}`",
                    "、".join(f"`{header}`" for header in column.synonyms) or "—",
                    f"{kind.label_zh} / {kind.label_en}{sensitive}",
                    unit or "—",
                    accepted or "—",
                    "是 yes" if column.required else "否 no",
                    "是 yes" if column.name in table.key else "",
                    description,
                )
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def data_dictionaries(tables: Sequence[TableSpec]) -> str:
    """Several tables' dictionaries, one section each, in the order given."""
    return "\n".join(data_dictionary(table) for table in tables)
