"""`POST /ingest/<agency>/<table>`: an agency's system pushes rows (JSON Lines, or a file
as CSV or XLSX) with its OAuth client-credentials token, which must carry the agency's
`ingest:<agency>` scope. The same checks and guarantees as `hub import`; the answer is the
report as JSON.

    200  applied (or, with ?dryRun=true, would apply): counts, batch id, warnings
    400  the body cannot be read as the table (encoding, missing columns, malformed
         query parameters), or is empty
    401  no or a bad token · 403 the token lacks ingest:<agency> (or the purpose)
    404  no such agency or table · 413 over HUB_INGEST_MAX_BYTES · 415 unknown Content-Type
    409  another import holds the agency's (SQLite) database; retry after Retry-After
    422  rows with errors: nothing changed (unless ?acceptValid=true); the report says why
    429  over the client's rate · 503 the audit record could not be written: nothing changed

Content-Type: `application/x-ndjson` / `application/jsonl` (JSON Lines, one object a row,
keyed by the dictionary's field names or headers), `text/csv` (`; charset=gb18030` when
not UTF-8), the XLSX media type, or `application/octet-stream` (detected). Query
parameters: `dryRun`, `acceptValid`, `asOf=YYYY-MM-DD`, `name` (the file's name, for the
batch registry). The request is audited like every request (its record's request id is
the `X-Request-Id` answer header) and the import leaves its write records under the same
request id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import sqlite3
import tempfile
from collections.abc import Coroutine
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from audit.record import AuditTrail
from audit.store import AuditUnavailable
from hub.importing import Importer, Sender, UnknownTable
from hub.settings import IngestSettings
from ingest.engine import ImportOptions, ImportResult
from ingest.formats import Format
from ingest.parsing import ParserStopped
from kernel import errors
from kernel.caller import Caller
from kernel.deferred import deferred

if TYPE_CHECKING:
    import psycopg.errors as pg_errors
else:
    pg_errors = deferred("psycopg.errors")  # read only when an import fails

WORKER_THRESHOLD_BYTES: Final = 32 << 20
_MEDIA_TYPES: Final[dict[str, Format | None]] = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/jsonlines": "jsonl",
    "application/json": "jsonl",
    "text/csv": "csv",
    "text/plain": "csv",
    "application/csv": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-excel": "xlsx",
    "application/octet-stream": None,
}
_TRUE: Final = ("1", "true", "yes")
_FALSE: Final = ("", "0", "false", "no")


class _Refused(Exception):
    def __init__(self, status: int, error: str, description: str, **headers: str) -> None:
        super().__init__(description)
        self.response = JSONResponse(
            {"error": error, "error_description": description},
            status_code=status,
            headers={"cache-control": "no-store", **headers},
        )


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _Refused(400, errors.INVALID_REQUEST, f"{name} is true or false, not {value!r}")


def _as_of(request: Request) -> date | None:
    text = request.query_params.get("asOf")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Refused(
            400, errors.INVALID_REQUEST, f"asOf {text!r} is not a date (YYYY-MM-DD)"
        ) from None


def _format(content_type: str | None) -> tuple[Format | None, str | None]:
    """The body's format and encoding from its Content-Type (None: detect)."""
    if not content_type:
        return None, None
    media, *parameters = (part.strip() for part in content_type.split(";"))
    if media.lower() not in _MEDIA_TYPES:
        raise _Refused(
            415,
            errors.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {media!r}: send application/x-ndjson (JSON Lines), text/csv or"
            " an XLSX workbook",
        )
    charset = next(
        (value for key, _, value in (p.partition("=") for p in parameters) if key == "charset"),
        None,
    )
    return _MEDIA_TYPES[media.lower()], charset.strip('"') if charset else None


async def _spool(request: Request, limit: int) -> tuple[Path, int]:
    """The body in a temporary file, and its size; refused beyond `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused(413, errors.REQUEST_TOO_LARGE, _too_large(limit))
    descriptor, name = tempfile.mkstemp(prefix="ingest-push-")
    path = Path(name)
    size = 0
    try:
        with os.fdopen(descriptor, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _Refused(413, errors.REQUEST_TOO_LARGE, _too_large(limit))
                out.write(chunk)
    except BaseException:
        await _remove(path)
        raise
    if size == 0:
        await _remove(path)
        raise _Refused(400, errors.EMPTY_BODY, "the body is empty: send the rows")
    return path, size


async def _remove(path: Path) -> None:
    await asyncio.to_thread(path.unlink, missing_ok=True)


def _too_large(limit: int) -> str:
    return (
        f"the body is larger than {limit >> 20} MiB (HUB_INGEST_MAX_BYTES); send it in parts"
        " or load the file with `hub import`"
    )


class IngestEndpoint:
    """The ASGI app behind the route; the caller middleware has put the caller on the
    scope, the audit middleware its trail."""

    def __init__(self, importer: Importer, settings: IngestSettings) -> None:
        self.importer = importer
        self.settings = settings
        self._turns: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._handle(request)
        except _Refused as refusal:
            response = refusal.response
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        agency = request.path_params["agency"]
        table = request.path_params["table"]
        caller = request.scope.get("caller")
        assert isinstance(caller, Caller)
        try:
            tables, _ = self.importer.target(agency, table)
        except UnknownTable as error:
            raise _Refused(404, errors.UNKNOWN_TABLE, str(error)) from None
        if not caller.has(tables.scope):
            raise _Refused(
                403,
                errors.INSUFFICIENT_SCOPE,
                f"writing {agency}'s tables needs scope {tables.scope}, which client"
                f" {caller.client_id!r} lacks",
                **{
                    "www-authenticate": f'Bearer error="insufficient_scope", scope="{tables.scope}"'
                },
            )
        format, encoding = _format(request.headers.get("content-type"))
        options = ImportOptions(
            format=format,
            encoding=encoding,
            name=request.query_params.get("name") or f"{agency}-{table} push",
            dry_run=_flag(request, "dryRun"),
            accept_valid=_flag(request, "acceptValid"),
            as_of=_as_of(request),
            submitted_by=caller.client_id,
            channel="http",
        )
        path, size = await _spool(request, self.settings.max_bytes)
        if size > WORKER_THRESHOLD_BYTES:
            options = dataclasses.replace(options, workers=1)
        try:
            result = await self._run(request, caller, agency, table, path, options)
        finally:
            await _remove(path)
        try:
            return self._answer(result)
        finally:
            result.report.close()

    async def _run(
        self,
        request: Request,
        caller: Caller,
        agency: str,
        table: str,
        path: Path,
        options: ImportOptions,
    ) -> ImportResult:
        trail = request.scope.get("audit")
        sender = Sender(
            submitted_by=caller.client_id,
            client_id=caller.client_id,
            purpose=caller.purpose,
            purpose_reference=caller.purpose_reference,
            channel="http",
            request_id=trail.request_id if isinstance(trail, AuditTrail) else None,
        )
        loop = asyncio.get_running_loop()

        def submit(coroutine: Coroutine[Any, Any, Any]) -> Any:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

        if self._turns is None:  # made in the serving loop: one per process
            self._turns = asyncio.Semaphore(self.settings.concurrent)
        try:
            async with self._turns:
                return await asyncio.to_thread(
                    self.importer.run, agency, table, path, options, sender, submit
                )
        except AuditUnavailable:
            raise _Refused(
                503,
                errors.AUDIT_UNAVAILABLE,
                "the audit record could not be written, so nothing was imported; retry later",
                **{"retry-after": "5"},
            ) from None
        except (
            sqlite3.OperationalError,
            pg_errors.DeadlockDetected,
            pg_errors.LockNotAvailable,
        ) as error:
            if isinstance(error, sqlite3.OperationalError) and not (
                "locked" in str(error) or "busy" in str(error)
            ):
                raise
            raise _Refused(
                409,
                errors.IMPORT_IN_PROGRESS,
                f"another import is writing to {agency}'s database; nothing was imported, retry",
                **{"retry-after": "5"},
            ) from None
        except ParserStopped as error:
            raise _Refused(503, errors.PARSER_STOPPED, f"{error}; nothing was imported") from None

    def _answer(self, result: ImportResult) -> Response:
        extra: dict[str, object] = {}
        if result.outcome in ("applied", "dry-run"):
            status = 200
        elif result.report.file_error is not None:
            status, extra = 400, {"error": errors.UNREADABLE_FILE}
        else:
            status, extra = 422, {"error": errors.INVALID_ROWS}
        body = io.StringIO()
        result.write_json(body, self.settings.max_issues, extra)
        return Response(
            body.getvalue(),
            status_code=status,
            media_type="application/json; charset=utf-8",
            headers={"cache-control": "no-store"},
        )
