"""Row readers for the files agencies send: CSV, XLSX (and XLS) and JSON Lines.

`open_table` detects the format from the first bytes (the file name only breaks ties),
finds the header row, and returns a `RawTable` whose `rows` yield `(row number, cells)`
one at a time: CSV and JSON Lines are read in bounded memory whatever the file size, and
the file's SHA-256 is computed on the way.

Row numbers are what the user sees: the spreadsheet row (header = 1 unless title rows sit
above it) for CSV and XLSX, the line number for JSON Lines. A row the reader itself cannot
make sense of (a JSON line that is not an object) is yielded as a `BadRow` so the report
names it and the rest of the file is still checked; a file that cannot be read at all
raises `IngestError`.

CSV encodings: a UTF-8 BOM → UTF-8; a UTF-16 BOM → UTF-16 (Excel's "Unicode text");
else the first 64 KiB decide between UTF-8 and GB18030 (a superset of GBK and GB2312).
An explicit `encoding` overrides. Bytes that do not decode stop the import with the row
and a hint to pass `--encoding`.

XLSX is read with python-calamine, which parses the whole sheet into memory before the
first row is available (it has no row streaming: dimastbk/python-calamine#42): memory
grows with the sheet (measured: about 1.8 bytes of memory per byte of sheet XML, 65 MiB
of XML for 100,000 payroll rows), so sheets whose XML is larger than `max_xlsx_sheet_bytes`
(192 MiB, about 300,000 such rows) are refused with advice to send CSV instead.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import python_calamine

from ingest.errors import IngestError
from ingest.formats import Format

_SNIFF_BYTES: Final = 64 * 1024
_HEADER_SEARCH_ROWS: Final = 10
MAX_JSON_LINE_BYTES: Final = 1 << 20
MAX_CSV_FIELD_CHARS: Final = 128 * 1024
MAX_CSV_LINE_CHARS: Final = 4 << 20
"""A physical line longer than this is refused: without the bound, a file with no line
break (a 2 GiB file of zeros) would be decoded whole into memory before the first row."""
MAX_XLSX_SHEET_BYTES: Final = 192 << 20  # ≈1.8× this in memory once calamine has it
_ZIP_MAGIC: Final = b"PK\x03\x04"
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SURROGATE: Final = re.compile("[\udc80-\udcff]")
_EXTENSIONS: Final[dict[str, Format]] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row the reader could not turn into cells; the validator reports it."""

    reason_en: str
    reason_zh: str


Cells = Sequence[object]
Row = tuple[int, "Cells | dict[str, object] | BadRow"]
HeaderProbe = Callable[[Sequence[str]], bool]


class _HashingReader(io.RawIOBase):
    """A binary source that hashes what passes through it."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.digest = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        if not data:
            return 0
        size = len(data)
        buffer[:size] = data
        self.digest.update(data)
        self.bytes_read += size
        return size

    def close(self) -> None:
        self._source.close()
        super().close()


@dataclass(slots=True)
class RawTable:
    """An open file: its format, header cells (None for JSON Lines) and its rows.

    `sha256` is complete once `rows` has been read to the end.
    """

    format: Format
    headers: list[str] | None
    header_row: int
    rows: Iterator[Row]
    encoding: str | None = None
    _hashing: _HashingReader | None = field(default=None, repr=False)
    _digest: str = field(default="", repr=False)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def sha256(self) -> str:
        return self._hashing.digest.hexdigest() if self._hashing is not None else self._digest

    def close(self) -> None:
        for closer in self._closers:
            closer()
        self._closers.clear()

    def __enter__(self) -> RawTable:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def detect_format(head: bytes, name: str | None = None) -> Format:
    """CSV, XLSX or JSON Lines from the first bytes; the extension only breaks ties."""
    if head.startswith(_ZIP_MAGIC) or head.startswith(_OLE_MAGIC):
        return "xlsx"
    stripped = head.removeprefix(codecs.BOM_UTF8).lstrip()
    extension = Path(name).suffix.casefold() if name else ""
    if stripped.startswith(b"<"):
        raise IngestError(
            "this file is a web page (HTML/XML), not a table: open it in a spreadsheet and"
            " save it as XLSX or CSV",
            "该文件是网页（HTML/XML）而不是表格：请用表格软件打开后另存为 XLSX 或 CSV",
        )
    if _EXTENSIONS.get(extension) == "xlsx":
        raise IngestError(
            f"the file is named {extension} but is not a spreadsheet (damaged, truncated or"
            " another format)",
            f"文件扩展名为 {extension}，但内容不是表格文件（可能已损坏、不完整或为其他格式）",
        )
    if stripped.startswith(b"{"):
        return "jsonl"
    return _EXTENSIONS.get(extension, "csv")


def open_table(
    source: str | Path | IO[bytes],
    *,
    format: Format | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    name: str | None = None,
    is_header: HeaderProbe | None = None,
    max_xlsx_sheet_bytes: int = MAX_XLSX_SHEET_BYTES,
) -> RawTable:
    """Open a file (path or binary stream) for reading rows.

    `is_header` picks the header among the first rows (title rows above it are skipped);
    without it, or when no row qualifies, the first non-empty row is the header.
    """
    path: Path | None = None
    if isinstance(source, str | Path):
        path = Path(source)
        name = name or path.name
        try:
            stream: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by RawTable
        except OSError as error:
            raise IngestError(
                f"cannot open {path.name}: {error.strerror}",
                f"无法打开 {path.name}：{error.strerror}",
            ) from None
    else:
        stream = source
    hashing = _HashingReader(stream)
    buffered = io.BufferedReader(hashing, buffer_size=_SNIFF_BYTES)
    try:
        head = buffered.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
        if not head.strip(b" \t\r\n" + codecs.BOM_UTF8):
            raise IngestError("the file is empty", "文件为空")
        found = format or detect_format(head, name)
        if found == "xlsx":
            table = _open_xlsx(buffered, hashing, path, sheet, is_header, max_xlsx_sheet_bytes)
        elif found == "jsonl":
            table = RawTable("jsonl", None, 0, _jsonl_rows(buffered), "utf-8", hashing)
        else:
            table = _open_csv(buffered, hashing, head, encoding, is_header)
    except BaseException:
        buffered.close()
        raise
    table._closers.append(buffered.close)
    return table


# --- CSV -----------------------------------------------------------------------------------


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _canonical_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise IngestError(
            f"unknown encoding {encoding!r}; use utf-8 or gb18030",
            f"未知的编码 {encoding!r}，请使用 utf-8 或 gb18030",
        ) from None
    # GBK files are read as GB18030, its superset, so rare characters outside GBK decode too.
    return "gb18030" if name in ("gbk", "gb2312", "cp936") else name


_decode_errors: Final = [0]
_MARK_ERRORS: Final = "ingest-mark"


def _mark_decode_error(error: UnicodeError) -> tuple[str | bytes, int]:
    """surrogateescape, counting: the CSV reader learns that some bytes did not decode."""
    _decode_errors[0] += 1
    return codecs.lookup_error("surrogateescape")(error)


codecs.register_error(_MARK_ERRORS, _mark_decode_error)


def _has_surrogate(record: list[str]) -> bool:
    return any(not cell.isascii() and _SURROGATE.search(cell) is not None for cell in record)


def _undecodable(row: int, encoding: str) -> IngestError:
    other = "gb18030" if encoding.startswith("utf") else "utf-8"
    return IngestError(
        f"the bytes are not valid {encoding}; if the file was saved in another encoding,"
        f" import it again with --encoding {other} (or re-save it as UTF-8)",
        f"内容不是有效的 {encoding} 编码；如文件为其他编码，"
        f"请加 --encoding {other} 重新导入（或另存为 UTF-8）",
        row=row,
    )


def _open_csv(
    buffered: io.BufferedReader[Any],
    hashing: _HashingReader,
    head: bytes,
    encoding: str | None,
    is_header: HeaderProbe | None,
) -> RawTable:
    chosen = _canonical_encoding(encoding) if encoding else _detect_encoding(head)
    text = io.TextIOWrapper(buffered, encoding=chosen, errors=_MARK_ERRORS, newline="")
    first_line = head.split(b"\n", 1)[0]
    delimiter = "\t" if b"\t" in first_line and b"," not in first_line else ","
    records = csv.reader(_bounded_lines(text), delimiter=delimiter, strict=False)

    def numbered() -> Iterator[tuple[int, list[str]]]:
        # Text is decoded in chunks ahead of the rows; a bad byte bumps the counter and
        # becomes a lone surrogate, so from then on rows are scanned to name the first one.
        clean = _decode_errors[0]
        number = 0
        try:
            for record in records:
                number += 1
                if _decode_errors[0] != clean and _has_surrogate(record):
                    raise _undecodable(number, chosen)
                yield number, record
        except csv.Error as error:
            raise IngestError(
                f"the CSV is malformed ({error}); check quotes and delimiters",
                f"CSV 格式错误（{error}），请检查引号与分隔符",
                row=number + 1,
            ) from None
        except _LineTooLong:
            raise IngestError(
                f"the CSV is malformed: a line longer than {MAX_CSV_LINE_CHARS} characters"
                " (is it a CSV file?)",
                f"CSV 格式错误：单行超过 {MAX_CSV_LINE_CHARS} 个字符（是否为 CSV 文件？）",
                row=number + 1,
            ) from None
        except UnicodeDecodeError:  # bytes the surrogate escape cannot carry (UTF-16)
            raise _undecodable(number + 1, chosen) from None

    source = numbered()
    headers, header_row, pending = _find_header(source, is_header)
    if headers is None:
        raise IngestError("the file has no header row", "文件没有表头行")

    def rows() -> Iterator[Row]:
        yield from pending
        yield from source  # blank records ([]) are skipped by the validator

    table = RawTable("csv", headers, header_row, rows(), chosen, hashing)
    table._closers.append(text.close)
    return table


class _LineTooLong(Exception):
    pass


def _bounded_lines(text: io.TextIOWrapper) -> Iterator[str]:
    """The text's lines as the CSV reader takes them, none longer than the limit."""
    while line := text.readline(MAX_CSV_LINE_CHARS):
        if len(line) == MAX_CSV_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise _LineTooLong
        yield line


def _blank(cells: Sequence[object]) -> bool:
    return all(cell is None or cell == "" for cell in cells)


def _find_header(
    numbered: Iterator[tuple[int, Sequence[object]]], is_header: HeaderProbe | None
) -> tuple[list[str] | None, int, list[Row]]:
    """The header row among the first non-empty rows, and the rows read past it."""
    seen: list[tuple[int, Sequence[object]]] = []
    for number, cells in numbered:
        if _blank(cells):
            continue
        seen.append((number, cells))
        headers = ["" if cell is None else str(cell).strip() for cell in cells]
        if is_header is None or is_header(headers):
            return headers, number, []
        if len(seen) >= _HEADER_SEARCH_ROWS:
            break
    if not seen:
        return None, 0, []
    number, cells = seen[0]
    return ["" if cell is None else str(cell).strip() for cell in cells], number, list(seen[1:])


# --- JSON Lines ----------------------------------------------------------------------------


def _jsonl_rows(buffered: io.BufferedReader[Any]) -> Iterator[Row]:
    number = 0
    while True:
        line = buffered.readline(MAX_JSON_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_JSON_LINE_BYTES and not line.endswith(b"\n"):
            raise IngestError(
                f"line longer than {MAX_JSON_LINE_BYTES} bytes",
                f"单行超过 {MAX_JSON_LINE_BYTES} 字节",
                row=number,
            )
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except UnicodeDecodeError:
            yield number, BadRow("the line is not valid UTF-8", "该行不是有效的 UTF-8 编码")
            continue
        except ValueError as error:
            yield number, BadRow(f"not valid JSON ({error})", f"不是有效的 JSON（{error}）")
            continue
        if type(record) is not dict:
            yield (
                number,
                BadRow(
                    f"each line must be a JSON object, this one is a {type(record).__name__}",
                    f"每行应为一个 JSON 对象，该行是 {type(record).__name__}",
                ),
            )
            continue
        yield number, record


# --- XLSX ----------------------------------------------------------------------------------


def _damaged(detail: str) -> IngestError:
    return IngestError(
        f"the spreadsheet cannot be read: it is damaged or incomplete ({detail}); save it"
        " again from the spreadsheet program and resend it",
        f"表格文件无法读取：文件已损坏或不完整（{detail}）；请在表格软件中重新保存后再发送",
    )


def _largest_sheet_bytes(source: IO[bytes] | Path) -> int:
    """The uncompressed size of the biggest worksheet part, from the zip directory alone."""
    try:
        with zipfile.ZipFile(source) as archive:
            return max(
                (
                    info.file_size
                    for info in archive.infolist()
                    if info.filename.startswith("xl/worksheets/")
                ),
                default=0,
            )
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise _damaged(str(error)) from None


def _open_xlsx(
    buffered: io.BufferedReader[Any],
    hashing: _HashingReader,
    path: Path | None,
    sheet: str | None,
    is_header: HeaderProbe | None,
    max_sheet_bytes: int,
) -> RawTable:
    # Calamine reads the file itself; hash it in one pass first and keep a seekable source.
    source: IO[bytes]
    if path is not None:
        while buffered.read(1 << 20):
            pass
        source = open(path, "rb")  # noqa: SIM115 - closed below or by RawTable
    else:
        spooled = io.BytesIO()
        while chunk := buffered.read(1 << 20):
            spooled.write(chunk)
        source = spooled
    digest = hashing.digest.hexdigest()
    try:
        source.seek(0)
        if source.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC:
            source.seek(0)
            size = _largest_sheet_bytes(source)
            if size > max_sheet_bytes:
                raise IngestError(
                    f"the sheet is too large to read from XLSX ({size >> 20} MiB of cell data);"
                    " send it as CSV, which is read in constant memory",
                    f"工作表过大（单元格数据 {size >> 20} MiB），无法按 XLSX 读取；"
                    "请另存为 CSV 发送（CSV 按流式读取）",
                )
        source.seek(0)
        try:
            book = python_calamine.load_workbook(source)
            chosen = sheet if sheet is not None else _first_worksheet(book)
            data = book.get_sheet_by_name(chosen)
            start = data.start
            rows_iter = data.iter_rows()
        except python_calamine.WorksheetNotFound:
            raise IngestError(
                f"the workbook has no sheet named {sheet!r}", f"工作簿中没有名为 {sheet!r} 的工作表"
            ) from None
        except python_calamine.PasswordError:
            raise IngestError(
                "the workbook is password-protected; remove the password and resend it",
                "工作簿设有密码，请取消密码后重新发送",
            ) from None
        except Exception as error:  # calamine reports damage through several error types
            raise _damaged(type(error).__name__) from None
    except BaseException:
        source.close()
        raise
    first = (start[0] + 1) if start is not None else 1

    def numbered() -> Iterator[tuple[int, Sequence[object]]]:
        try:
            yield from enumerate(rows_iter, start=first)
        except Exception as error:  # a damaged sheet part may fail mid-way
            raise _damaged(type(error).__name__) from None

    source_rows = numbered()
    headers, header_row, pending = _find_header(source_rows, is_header)
    if headers is None:
        source.close()
        raise IngestError("the sheet is empty", "工作表为空")

    def rows() -> Iterator[Row]:
        yield from pending
        yield from source_rows

    table = RawTable("xlsx", headers, header_row, rows(), None, None, digest)
    table._closers.append(source.close)
    table._closers.append(book.close)
    return table


def _first_worksheet(book: python_calamine.CalamineWorkbook) -> str:
    for meta in book.sheets_metadata:
        if (
            meta.typ == python_calamine.SheetTypeEnum.WorkSheet
            and meta.visible == python_calamine.SheetVisibleEnum.Visible
        ):
            return meta.name
    if not book.sheet_names:
        raise IngestError("the workbook has no sheet", "工作簿中没有工作表")
    return book.sheet_names[0]
