"""`hub import` and `hub export`: an agency's file into its tables, its tables back out.

    hub import bank disbursements payroll.csv [--dry-run] [--report report.json]
        [--encoding gb18030] [--format csv|xlsx|jsonl] [--accept-valid [--rejects FILE]]
        [--as-of 2026-10-31]
    hub export bank disbursements --format csv|xlsx|jsonl [--encoding gb18030] [--out FILE]

One line says what happened; the report (`--report x.json` for machines, `x.csv` for
people) lists every problem. Exit status: 0 applied (or a clean dry run), 1 refused or
failed; never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from collections.abc import Coroutine
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from ingest.formats import CSV_ENCODINGS, EXPORT_FORMATS, FORMATS
from kernel.deferred import deferred

if TYPE_CHECKING:
    import sqlalchemy.exc as sqlalchemy_errors

    import audit.store as audit_stores
    import ingest.errors as ingest_errors
    import ingest.parsing as parsing
    from hub import facts, importing, warnings_cli, wiring
    from hub.settings import HubSettings
    from ingest import engine
else:
    sqlalchemy_errors = deferred("sqlalchemy.exc")
    audit_stores = deferred("audit.store")
    ingest_errors = deferred("ingest.errors")
    parsing = deferred("ingest.parsing")
    facts = deferred("hub.facts")
    importing = deferred("hub.importing")
    warnings_cli = deferred("hub.warnings_cli")
    wiring = deferred("hub.wiring")
    engine = deferred("ingest.engine")

WORKER_THRESHOLD_BYTES: Final = 32 << 20
"""Files larger than this are parsed in a worker process (its start costs about a second)."""
ISSUES_SHOWN: Final = 20


def _operator() -> str:
    """Who runs an import at the command line: the account and the machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _fail(message: str) -> int:
    print(f"hub: {message}", file=sys.stderr)
    return 1


def _importer(settings: HubSettings) -> tuple[importing.Importer, importing.Submit[Any] | None]:
    """The importer, and how it runs the audit log's writes (none with auditing off)."""
    connectors = wiring.build_connectors(settings)
    facts_store = wiring.build_facts_store(settings)

    def refresh_facts() -> Coroutine[Any, Any, object]:
        return facts.refresh_after_import(
            facts_store, wiring.loader_factories(connectors), connectors, closing=True
        )

    if not settings.audit.enabled:
        return importing.Importer(connectors, refresh_facts=refresh_facts), None
    auth_store = wiring.build_auth_store(settings)
    audit_store = wiring.build_audit_store(settings, auth_store)
    importer = importing.Importer(
        connectors, audit_store, wiring.build_subject_hasher(settings), refresh_facts=refresh_facts
    )
    return importer, importing.run_closing(audit_store, auth_store.database)


def _import(settings: HubSettings, args: argparse.Namespace) -> int:
    source: Path = args.file
    if not source.is_file():
        return _fail(f"{source}: no such file")
    importer, submit = _importer(settings)
    try:
        importer.target(args.agency, args.table)
    except importing.UnknownTable as error:
        return _fail(str(error))
    operator = _operator()
    rejects = args.rejects or source.with_name(f"{source.stem}.rejects.csv")
    options = engine.ImportOptions(
        format=args.format,
        encoding=args.encoding,
        sheet=args.sheet,
        dry_run=args.dry_run,
        accept_valid=args.accept_valid,
        rejects=rejects if args.accept_valid else None,
        as_of=args.as_of,
        submitted_by=operator,
        channel="cli",
        workers=1 if source.stat().st_size > WORKER_THRESHOLD_BYTES else 0,
    )
    sender = importing.Sender(submitted_by=operator, client_id=f"cli:{operator}"[:64])
    try:
        result = importer.run(args.agency, args.table, source, options, sender, submit)
    except audit_stores.AuditUnavailable as error:
        return _fail(f"the audit record could not be written ({error}); nothing was imported")
    except ingest_errors.IngestError as error:
        return _fail(str(error))
    except parsing.ParserStopped as error:
        return _fail(f"{error}; nothing was imported")
    except sqlalchemy_errors.SQLAlchemyError as error:
        return _fail(
            f"the {args.agency} database refused the import ({type(error).__name__}:"
            f" {_first_line(error)}); nothing was imported. Is it migrated (hub migrate)?"
        )
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was imported")
    try:
        _show(result, args.report)
    finally:
        result.report.close()
    if result.outcome == "refused":
        return 1
    if result.applied and settings.alerts.evaluate_after_import:
        _evaluate(settings)
    return 0


def _evaluate(settings: HubSettings) -> None:
    """The warning rules after an applied import; the import stands whatever happens."""
    try:
        print(warnings_cli.evaluated_line(warnings_cli.run_evaluation(settings, after_import=True)))
    except sqlalchemy_errors.SQLAlchemyError as error:
        print(
            f"hub: warnings not evaluated ({_first_line(error)}); `hub warnings evaluate` "
            "runs them (is the warnings store migrated: hub migrate?)",
            file=sys.stderr,
        )


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.splitlines()[0][:200] if text else type(error).__name__


def _show(result: engine.ImportResult, report_path: Path | None) -> None:
    print(result.line())
    report = result.report
    if result.rejects is not None and report.rows_rejected and result.outcome != "refused":
        print(f"rejected rows, to fix and send again: {result.rejects}")
    if report_path is not None:
        _write_report(result, report_path)
        print(f"report: {report_path}")
        return
    for shown, issue in enumerate(report.issues()):
        if shown == ISSUES_SHOWN:
            more = report.errors + report.warnings - shown
            print(f"… and {more} more; --report FILE.csv or FILE.json lists them all")
            break
        where = f"row {issue.row}" if issue.row is not None else "file"
        column = f", {issue.column}" if issue.column else ""
        value = f" {issue.value!r}" if issue.value else ""
        reason_en = issue.reason_en.removeprefix(f"{where}: ")
        reason_zh = issue.reason_zh.removeprefix(f"第 {issue.row} 行：")
        print(f"  {issue.severity:7} {where}{column}:{value} {reason_en} / {reason_zh}")


def _write_report(result: engine.ImportResult, path: Path) -> None:
    if path.suffix.casefold() == ".csv":
        with path.open("w", encoding="utf-8", newline="") as out:
            result.report.write_csv(out)
    else:
        with path.open("w", encoding="utf-8") as out:
            result.write_json(out)


def _export(settings: HubSettings, args: argparse.Namespace) -> int:
    importer = importing.Importer(wiring.build_connectors(settings))
    try:
        importer.target(args.agency, args.table)
    except importing.UnknownTable as error:
        return _fail(str(error))
    if args.encoding not in CSV_ENCODINGS:
        return _fail(f"encoding {args.encoding!r}: use one of {', '.join(CSV_ENCODINGS)}")
    out: IO[bytes]
    try:
        out = args.out.open("wb") if args.out else sys.stdout.buffer
    except OSError as error:
        return _fail(f"cannot write {args.out}: {error.strerror}")
    try:
        count = importer.export(args.agency, args.table, out, args.format, args.encoding)
    except sqlalchemy_errors.SQLAlchemyError as error:
        return _fail(f"the {args.agency} database cannot be read ({_first_line(error)})")
    finally:
        if args.out:
            out.close()
    print(f"exported {count} rows of {args.agency}.{args.table}", file=sys.stderr)
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _encoding(text: str) -> str:
    return {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "gbk": "gb18030"}.get(text.lower(), text)


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = commands.add_parser(
        "import", help="load an agency's file into its tables (all or nothing by default)"
    )
    load.add_argument("agency", help="bank, housing, hr, public_security, court")
    load.add_argument("table", help="an importable table of the agency's (docs/data-dictionary.md)")
    load.add_argument("file", type=Path)
    load.add_argument("--dry-run", action="store_true", help="check everything, change nothing")
    load.add_argument("--report", type=Path, help="write the report here (.json or .csv)")
    load.add_argument("--encoding", help="CSV encoding when detection is wrong (gb18030, utf-8)")
    load.add_argument("--format", choices=FORMATS, help="when the file's content is ambiguous")
    load.add_argument("--sheet", help="the XLSX sheet (default: the first visible one)")
    load.add_argument(
        "--accept-valid",
        action="store_true",
        help="load the valid rows and write the others to a rejects file",
    )
    load.add_argument("--rejects", type=Path, help="the rejects file (default: FILE.rejects.csv)")
    load.add_argument(
        "--as-of", type=_day, help="the day through which this data is complete (YYYY-MM-DD)"
    )
    load.set_defaults(run=_import)

    dump = commands.add_parser("export", help="an agency's table in the formats imports read")
    dump.add_argument("agency")
    dump.add_argument("table")
    dump.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    dump.add_argument(
        "--encoding", type=_encoding, default="utf-8-sig", help="CSV: utf-8 (default) or gb18030"
    )
    dump.add_argument("--out", type=Path, help="a file instead of standard output")
    dump.set_defaults(run=_export)
