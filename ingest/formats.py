"""The file formats imports read and exports write, and the CSV encodings exports write:
declared apart from the readers and writers (`ingest.readers`, `ingest.exporting`,
`ingest.writers`), so that the command line can offer them as choices without importing
those (SQLAlchemy, graphql-core, the calamine reader) in every `hub` process."""

from __future__ import annotations

from typing import Final, Literal

Format = Literal["csv", "xlsx", "jsonl"]
FORMATS: Final[tuple[Format, ...]] = ("csv", "xlsx", "jsonl")

ExportFormat = Literal["csv", "xlsx", "jsonl"]
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = ("csv", "xlsx", "jsonl")

CSV_ENCODINGS: Final = ("utf-8-sig", "gb18030")
