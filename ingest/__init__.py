"""Agency data in and out: value parsers, table declarations, readers, validation, reports,
writers, the national platform's interface codec, and the import engine. Independent of
the CLI and HTTP, which all share it; it knows databases only through `storage`.

Declaring a table (in the agency's package, `connectors/<agency>/tables.py`):

    spec = TableSpec(agency="bank", name="disbursements", key=(...), columns=(...))
    DISBURSEMENTS = Importable(spec, Disbursement.__table__, key=(<unique db columns>),
                               references=(Reference(...),), entities=(("Worker", ...),),
                               period="pay_month")
    TABLES = AgencyTables("bank", INGEST_SCOPE, ImportBatch.__table__, (DISBURSEMENTS, ...),
                          module=__name__)

Importing one file (`ingest.engine`):

    result = run_import(
        DISBURSEMENTS, bank_database, Path("payroll.csv"),
        ImportOptions(format=None, encoding=None, dry_run=False, accept_valid=False,
                      rejects=None, as_of=None, submitted_by="bank-ccb", channel="http",
                      workers=0),
        batches=TABLES.batches,                    # the agency's batch registry table
        lookups={"housing": housing_database},     # other agencies, for warnings
        before_commit=write_audit_record,          # (result, entities) -> None; may raise
    )
    result.outcome      # "applied" | "refused" | "dry-run"
    result.batch_id, result.inserted, result.updated, result.unchanged, result.as_of
    result.report       # ingest.report.Report: counts, sha256, timings, every Issue
    result.summary()    # dict for JSON answers; result.write_json(out) adds the issues
    result.line()       # one line for people

Typed rows from other sources (the national interface's JSON after decryption) go through
the same path by writing them as JSON Lines (`ingest.writers.write_jsonl`) or by giving
`run_import` a JSON Lines file of records keyed by the spec's column names or synonyms.

Guarantees: one transaction per import (a killed import changes nothing; a rerun
completes it), upserts by natural key (the same file twice changes nothing; a correction
replaces the value and moves the row to the correcting batch), a file with any error
changes nothing unless `accept_valid`, bounded memory for CSV and JSON Lines.

Modules, bottom up: errors, values/ (cells), tables (TableSpec, data dictionaries),
readers (CSV/XLSX/JSON Lines), validate (Validator), report, writers, rejects, batches
(the registry's columns), targets (Importable, Reference, AgencyTables), parsing (the
reading side, in process or in a worker process), staging (temporary table, checks,
upsert), engine (run_import), exporting (tables back out), national (sign/AES codec).
"""
