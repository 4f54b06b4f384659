"""Raw rows in, typed rows and a report out, against one `TableSpec`.

`Validator(table, report)` checks a file's header once (`bind` for CSV/XLSX, per distinct
key set for JSON records), then `rows()` / `records()` yield `(row number, values)` for
each valid row — `values` a tuple in the spec's column order, absent optional columns as
None — and put every problem in the report. Nothing is raised for a bad row; a header that
lacks a required column raises `IngestError` (the file is refused as a whole).

Speed: the happy path of a row is one C-level pass (`operator.itemgetter` picks the cells,
`map(operator.call, parsers, cells)` parses them); only a row that raises takes the slow
path that checks cell by cell to report every problem in it, not just the first.

Duplicate natural keys within one file are found with a dict from the key's 64-bit hash to
its first row (about 100 bytes a row, independent of the cell sizes: 100 MiB for a
million rows). Two different keys sharing a hash (odds about n²/2⁶⁵, 3 in 100 million for
a million rows) would be reported as a duplicate — a refusal the user sees, never a
silent loss. The import engine turns this off (`duplicates=False`): it finds duplicate
keys among the staged rows with one query, in the database's bounded memory.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ingest.errors import CellWarning, IngestError, InvalidValue
from ingest.readers import BadRow, RawTable, Row
from ingest.report import Issue, Report
from ingest.tables import ColumnSpec, TableSpec
from ingest.values import Parser, mask

TypedRow = tuple[object, ...]

_PLAN_CACHE: Final = 64
_call: Final = operator.call


class _Ragged(Exception):
    """A CSV row with a different number of cells than the header."""


def _picker(positions: Sequence[int | str]) -> Callable[[object], Sequence[object]]:
    """Cells at `positions` as a sequence (itemgetter of one position returns a scalar)."""
    if len(positions) == 1:
        only = positions[0]
        return lambda cells: (cells[only],)  # type: ignore[index]
    return operator.itemgetter(*positions)  # type: ignore[return-value]


@dataclass(slots=True)
class _Plan:
    """Where each declared column's cell is in a row, and the parsers to apply."""

    width: int | None  # CSV/XLSX: cells in the header; None for records
    present: tuple[int, ...]  # indexes into table.columns, in spec order
    pick: Callable[[object], Sequence[object]]
    parsers: tuple[Parser, ...]
    headers: tuple[str, ...]  # the header as written, per present column
    assemble: Callable[[TypedRow], TypedRow] | None  # adds None for absent columns
    missing_required: tuple[ColumnSpec, ...] = ()
    where: tuple[int | str, ...] = ()  # each present column's cell position (or record key)


Rejected = Callable[[int, list[object]], None]
"""Told of each rejected row: its number and its cells as written, in the spec's column
order (None where the file has no such column); `Report.last_reasons` says why."""


class Validator:
    """Checks rows of one file against a table declaration, reporting into `report`."""

    def __init__(
        self,
        table: TableSpec,
        report: Report,
        rejected: Rejected | None = None,
        *,
        duplicates: bool = True,
    ) -> None:
        """`duplicates`: refuse a row whose key an earlier row of the file has (False:
        the caller checks keys itself)."""
        self.table = table
        self.report = report
        self.rejected = rejected
        self._parsers = tuple(column.kind.make(column.required) for column in table.columns)
        self._names = table.column_names
        self._key = _picker(table.key_positions()) if table.key and duplicates else None
        self._rules = tuple(
            (_picker([self._names.index(name) for name in rule.columns]), rule.check)
            for rule in table.rules
        )
        self._seen: dict[int, int] = {}
        self._plan: _Plan | None = None
        self._record_plans: dict[tuple[str, ...], _Plan] = {}
        self._warned_keys: set[str] = set()

    # --- headers -----------------------------------------------------------------------

    def is_header(self, headers: Sequence[str]) -> bool:
        """Whether a row names every required column (used to skip title rows)."""
        found = {self.table.column_for(header) for header in headers if header}
        return all(
            position in found
            for position, column in enumerate(self.table.columns)
            if column.required
        )

    def bind(self, headers: Sequence[str], header_row: int = 1) -> None:
        """Map a CSV/XLSX header to the declared columns; refuse the file if it cannot be."""
        positions: dict[int, int] = {}
        for index, header in enumerate(headers):
            if not header:
                continue
            column = self.table.column_for(header)
            if column is None:
                self.report.add(
                    Issue(
                        header_row, header, None,
                        "unknown column, ignored", "未知列，已忽略", "warning",
                    )
                )  # fmt: skip
                continue
            if column in positions:
                first = headers[positions[column]]
                self._refuse(
                    f"columns '{first}' and '{header}' both give"
                    f" {self.table.columns[column].title} ({self.table.columns[column].name})",
                    f"“{first}”和“{header}”两列都对应{self.table.columns[column].title}，请删去其一",
                    header_row,
                )
            positions[column] = index
        missing = [
            column
            for index, column in enumerate(self.table.columns)
            if column.required and index not in positions
        ]
        if missing:
            self._refuse(
                "required columns missing: "
                + ", ".join(f"{column.title} ({column.name})" for column in missing)
                + "; the dictionary lists the headers each accepts",
                "缺少必填列："
                + "、".join(column.title for column in missing)
                + "；各列可用的表头见数据字典",
                header_row,
            )
        present = tuple(sorted(positions))
        self._plan = self._make_plan(
            present,
            tuple(positions[index] for index in present),
            tuple(headers[positions[index]] for index in present),
            len(headers),
        )

    def _make_plan(
        self,
        present: tuple[int, ...],
        where: Sequence[int | str],
        headers: tuple[str, ...],
        width: int | None,
        missing_required: tuple[ColumnSpec, ...] = (),
    ) -> _Plan:
        count = len(self.table.columns)
        assemble = None
        if len(present) != count:
            # values of the present columns, then one None; pick each column's slot
            slots = [present.index(i) if i in present else len(present) for i in range(count)]
            pick_slots = _picker(slots)

            def assemble(values: TypedRow) -> TypedRow:
                return tuple(pick_slots((*values, None)))

        return _Plan(
            width,
            present,
            _picker(where) if where else (lambda cells: ()),
            tuple(self._parsers[index] for index in present),
            headers,
            assemble,
            missing_required,
            tuple(where),
        )

    def _refuse(self, reason_en: str, reason_zh: str, row: int | None) -> None:
        error = IngestError(reason_en, reason_zh, row=row)
        self.report.refuse_file(Issue(row, None, None, error.reason_en, error.reason_zh))
        raise error

    # --- rows ----------------------------------------------------------------------------

    def rows(self, rows: Iterable[Row]) -> Iterator[tuple[int, TypedRow]]:
        """Typed valid rows of a CSV/XLSX file whose header was `bind`-ed."""
        plan = self._plan
        if plan is None:
            raise RuntimeError("bind() the header before reading rows")
        pick, parsers, width, assemble = plan.pick, plan.parsers, plan.width, plan.assemble
        rules, key, remember = self._rules, self._key, self._seen.setdefault
        report = self.report
        read = valid = 0
        try:
            for number, cells in rows:
                read += 1
                try:
                    if type(cells) is not list or len(cells) != width:
                        raise _Ragged
                    values = tuple(map(_call, parsers, pick(cells)))
                except (InvalidValue, CellWarning, _Ragged):
                    checked = self._slow_row(number, cells, plan)
                    if checked is None:
                        self._reject(number, cells, plan)
                        continue
                    if checked is _BLANK:
                        read -= 1
                        continue
                    values = checked  # type: ignore[assignment]
                if assemble is not None:
                    values = assemble(values)
                if rules:
                    for rule_pick, check in rules:
                        if check(*rule_pick(values)) is not None:
                            break
                    else:
                        check = None
                    if check is not None:
                        self._report_rules(number, values, plan)
                        self._reject(number, cells, plan)
                        continue
                if key is not None:
                    first = remember(hash(key(values)), number)
                    if first != number:
                        self._report_duplicate(number, values, plan, first)
                        self._reject(number, cells, plan)
                        continue
                valid += 1
                yield number, values
        finally:
            report.rows_read += read
            report.rows_valid += valid
            report.rows_rejected += read - valid

    def records(self, rows: Iterable[Row]) -> Iterator[tuple[int, TypedRow]]:
        """Typed valid rows from JSON objects keyed by any accepted header."""
        report = self.report
        read = valid = 0
        try:
            for number, record in rows:
                read += 1
                if type(record) is not dict:
                    if isinstance(record, BadRow):
                        report.add(Issue(number, None, None, record.reason_en, record.reason_zh))
                    else:
                        report.add(Issue(number, None, None, "not an object", "不是 JSON 对象"))
                    self._reject(number, None, None)
                    continue
                plan = self._record_plan(number, record)
                try:
                    if plan.missing_required:
                        raise _Ragged
                    values = tuple(map(_call, plan.parsers, plan.pick(record)))
                except (InvalidValue, CellWarning, _Ragged):
                    checked = self._slow_row(number, record, plan)
                    if checked is None:
                        self._reject(number, record, plan)
                    if checked is None or checked is _BLANK:
                        continue
                    values = checked  # type: ignore[assignment]
                if plan.assemble is not None:
                    values = plan.assemble(values)
                if not self._finish(number, values, plan):
                    self._reject(number, record, plan)
                    continue
                valid += 1
                yield number, values
        finally:
            report.rows_read += read
            report.rows_valid += valid
            report.rows_rejected += read - valid

    def _record_plan(self, number: int, record: dict[str, object]) -> _Plan:
        keys = tuple(record)
        plan = self._record_plans.get(keys)
        if plan is not None:
            return plan
        found: dict[int, str] = {}
        for key in keys:
            column = self.table.column_for(key)
            if column is None or column in found:
                if key not in self._warned_keys and len(self._warned_keys) < _PLAN_CACHE:
                    self._warned_keys.add(key)
                    reason = (
                        ("unknown field, ignored", "未知字段，已忽略")
                        if column is None
                        else (
                            f"a second field for {self.table.columns[column].name}, ignored",
                            f"与“{found[column]}”重复，已忽略",
                        )
                    )
                    self.report.add(Issue(number, key, None, *reason, "warning"))
                continue
            found[column] = key
        present = tuple(sorted(found))
        missing = tuple(
            column
            for index, column in enumerate(self.table.columns)
            if column.required and index not in found
        )
        plan = self._make_plan(
            present,
            tuple(found[index] for index in present),
            tuple(found[index] for index in present),
            None,
            missing,
        )
        if len(self._record_plans) < _PLAN_CACHE:
            self._record_plans[keys] = plan
        return plan

    def _slow_row(self, number: int, cells: object, plan: _Plan) -> TypedRow | object | None:
        """Check every cell of a row that failed the fast path; report all its problems.

        Returns the values when only warnings were found, None when rejected, `_BLANK` for
        an empty row (skipped, not counted).
        """
        report = self.report
        if isinstance(cells, list):
            if _all_blank(cells):
                return _BLANK
            if plan.width is not None and len(cells) != plan.width:
                extra = cells[plan.width :]
                if len(cells) < plan.width or not _all_blank(extra):
                    report.add(
                        Issue(
                            number, None, None,
                            f"the row has {len(cells)} cells but the header has {plan.width};"
                            " a delimiter or quote may be missing or extra",
                            f"该行有 {len(cells)} 个单元格，表头有 {plan.width} 个；"
                            "可能多了或少了分隔符、引号",
                        )
                    )  # fmt: skip
                    return None
                cells = cells[: plan.width]
        values: list[object] = []
        ok = True
        for column in plan.missing_required:
            ok = False
            report.add(
                Issue(
                    number, column.name, None,
                    f"required field {column.name} ({column.title}) is missing",
                    f"缺少必填字段 {column.name}（{column.title}）",
                )
            )  # fmt: skip
        raw_cells = plan.pick(cells)
        for index, parse, header, raw in zip(
            plan.present, plan.parsers, plan.headers, raw_cells, strict=True
        ):
            column = self.table.columns[index]
            try:
                values.append(parse(raw))
            except InvalidValue as error:
                ok = False
                report.add(
                    Issue(number, header, mask(raw, column.kind), error.reason_en, error.reason_zh)
                )
            except CellWarning as warning:
                values.append(warning.value)
                report.add(
                    Issue(
                        number, header, mask(raw, column.kind),
                        warning.reason_en, warning.reason_zh, "warning",
                    )
                )  # fmt: skip
        return tuple(values) if ok else None

    def _finish(self, number: int, values: TypedRow, plan: _Plan) -> bool:
        """Row rules and the duplicate-key check on a row whose cells are all valid."""
        if self._report_rules(number, values, plan):
            return False
        if self._key is not None:
            first = self._seen.setdefault(hash(self._key(values)), number)
            if first != number:
                self._report_duplicate(number, values, plan, first)
                return False
        return True

    def _report_rules(self, number: int, values: TypedRow, plan: _Plan) -> bool:
        """Report every broken row rule; whether any was."""
        broken = False
        for pick, check in self._rules:
            found = check(*pick(values))
            if found is not None:
                name, reason_en, reason_zh = found
                broken = True
                self.report.add(Issue(number, self._header(name, plan), None, reason_en, reason_zh))
        return broken

    def _report_duplicate(self, number: int, values: TypedRow, plan: _Plan, first: int) -> None:
        table = self.table
        assert self._key is not None
        key = self._key(values)
        self.report.add(
            Issue(
                number,
                "+".join(self._header(name, plan) for name in table.key),
                " | ".join(
                    _shown(part, table.columns[table.column_names.index(name)])
                    for name, part in zip(table.key, key, strict=True)
                ),
                f"the same key ({', '.join(table.key)}) as row {first}; each key may"
                " appear once in a file",
                f"与第 {first} 行的主键（"
                + "、".join(
                    table.columns[table.column_names.index(name)].title for name in table.key
                )
                + "）相同；同一文件中每个主键只能出现一次",
            )
        )

    def _reject(self, number: int, cells: object, plan: _Plan | None) -> None:
        """Hand a rejected row's cells, in spec order, to `rejected`."""
        if self.rejected is None:
            return
        out: list[object] = [None] * len(self.table.columns)
        if plan is not None:
            for index, where in zip(plan.present, plan.where, strict=True):
                if isinstance(cells, dict):
                    out[index] = cells.get(where)
                elif isinstance(cells, list) and isinstance(where, int) and where < len(cells):
                    out[index] = cells[where]
        self.rejected(number, out)

    def header_of(self, name: str) -> str:
        """The header the file gives a column (its name when the file has none: JSON)."""
        plan = self._plan
        return self._header(name, plan) if plan is not None else name

    def _header(self, name: str, plan: _Plan) -> str:
        """The header as written for a column, or its name when the file lacks it."""
        index = self._names.index(name)
        if index in plan.present:
            return plan.headers[plan.present.index(index)]
        return name

    def read(self, table: RawTable) -> Iterator[tuple[int, TypedRow]]:
        """Typed valid rows of an opened file, whatever its format."""
        if table.headers is None:
            return self.records(table.rows)
        self.bind(table.headers, table.header_row)
        return self.rows(table.rows)


_BLANK: Final = object()


def _shown(value: object, column: ColumnSpec) -> str:
    """A typed key part as the file would write it, masked when sensitive."""
    return "" if value is None else mask(column.kind.text(value), column.kind)


def _all_blank(cells: Sequence[object]) -> bool:
    return all(cell is None or (type(cell) is str and not cell.strip()) for cell in cells)


def as_dicts(table: TableSpec, rows: Iterable[tuple[int, TypedRow]]) -> Iterator[dict[str, object]]:
    """Typed rows as dicts keyed by column name (convenient, slower than tuples)."""
    names = table.column_names
    for _, values in rows:
        yield dict(zip(names, values, strict=True))


def typed_mapping(table: TableSpec, values: TypedRow) -> Mapping[str, object]:
    return dict(zip(table.column_names, values, strict=True))
