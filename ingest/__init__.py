"""Agency data in and out: value parsers, table declarations, readers, validation, reports,
writers and the national platform's interface codec. Independent of the database, the CLI
and HTTP, which all share it."""
