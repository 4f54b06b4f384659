"""`POST /open.api`: the national construction-worker platform's interface, so a province
points its existing uploader at the hub (the path is the one provincial uploaders post to).

A call is one form post (`appid`, `data`, `format`, `method`, `nonce`, `timestamp`,
`version`, `sign`; `ingest.national` for the signature and the AES fields). Every answer
is the platform's envelope, HTTP 200 unless the hub cannot take calls at all:

    {"code": 0, "message": "成功", "data": {"requestSerialCode": "..."}}

    code  0   accepted (a write: queued; a query: answered)
         -1   request parameter error: a parameter missing, format/version not json/1.0,
              `data` not JSON or not the method's shape, an encrypted field that does not
              decrypt, a method the hub does not take, an unknown requestSerialCode
         -2   signature error: `sign` does not match, `timestamp` malformed or more than
              the tolerance from the hub's clock (Beijing time), a nonce already used
              with that timestamp (a replay)
         -3   no access: unknown or revoked appid, a method of another agency's tables
         -5   over the submitter's rate (HTTP 429, `Retry-After`), or the hub cannot take
              calls now (its database; HTTP 503): retry later

A body that does not arrive within `HUB_LIMITS_BODY_TIMEOUT_SECONDS` is cut off as on
every endpoint (`auth.bodies.read_body`: HTTP 408 `request_timeout`, connection closed).

A write is answered at once with its `requestSerialCode` and queued in the auth database
(`auth.national`); `NationalRunner`, a task in every hub process, runs queued calls
through the import engine — the agency's tables, the same validation, batch registry and
audit write records as `hub import` — and stores the answer `AsyncHandleResult.Query`
gives: `status` "0" waiting, "20" done, "10" refused with each row's problems (nothing
written). A call whose runner died is run again once its lease lapses; imports are
upserts, so that completes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from audit.record import AuditTrail
from audit.tally import REFUSED
from auth.bodies import read_body, replayed
from auth.middleware import AUTHENTICATED, Refusal
from auth.national import DONE, FAILED, NationalRegistry, QueuedCall
from auth.sealing import KeySealingError
from hub.importing import SUBMISSION_PURPOSE, Importer, Sender, changed_rows
from hub.limits.rates import Buckets, Rate
from hub.settings import NationalSettings
from ingest import national
from ingest.engine import ImportOptions, ImportResult
from ingest.national import Conversion, NationalError, NationalMethod, Part
from ingest.report import Issue
from kernel import errors
from kernel.threads import in_thread
from kernel.waits import until_set

log = logging.getLogger(__name__)

OK: Final = 0
PARAMETER_ERROR: Final = -1
SIGN_ERROR: Final = -2
NO_ACCESS: Final = -3
UNAVAILABLE: Final = -5
AUDIT_CODES: Final = {
    PARAMETER_ERROR: errors.INVALID_REQUEST,
    SIGN_ERROR: errors.INVALID_TOKEN,
    NO_ACCESS: errors.FORBIDDEN,
    UNAVAILABLE: errors.TEMPORARILY_UNAVAILABLE,
}
"""The audit record's code for each of the platform's error codes: a refusal answered
HTTP 200 in the platform's envelope is recorded like the same refusal elsewhere."""
CHANNEL: Final = "national"
_STATUS: Final = {"pending": national.ASYNC_PENDING, "running": national.ASYNC_PENDING,
                  DONE: national.ASYNC_DONE, FAILED: national.ASYNC_FAILED}  # fmt: skip


class Refused(Exception):
    """A call answered with an error code; nothing was queued or written."""

    def __init__(
        self, code: int, zh: str, en: str, status: int = 200, retry_after: float | None = None
    ) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en
        self.status, self.retry_after = status, retry_after


def envelope(
    code: int,
    message: str,
    data: object = None,
    message_en: str = "",
    status: int = 200,
    retry_after: float | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"code": code, "message": message, "data": data}
    if message_en:
        body["messageEn"] = message_en
    headers = {"cache-control": "no-store"}
    if retry_after is not None:
        headers["retry-after"] = str(max(1, math.ceil(retry_after)))
    return JSONResponse(body, status_code=status, headers=headers)


Limit = Callable[[str, str], Awaitable[float]]
"""(appid, agency) → 0 when the call may go on, else the seconds until it may."""


def call_limit(rates: Mapping[str, Rate | None], buckets: Buckets) -> Limit:
    """A token bucket per appid at the rate `HUB_RATE_LIMITS` names for
    `national:<appid>`, else for its agency, else the default ("off": none)."""

    async def wait(appid: str, agency: str) -> float:
        name = next((n for n in (f"national:{appid}", agency, "default") if n in rates), None)
        rate = rates[name] if name is not None else None
        return 0.0 if rate is None else await buckets.take(f"national:{appid}", rate)

    return wait


def national_methods(importer: Importer) -> dict[str, NationalMethod]:
    """The write methods the hub's local agencies declare (`national_methods`)."""
    found: dict[str, NationalMethod] = {}
    for connector in importer.connectors.values():
        for method in getattr(connector, "national_methods", ()):
            if method.name in found:
                raise ValueError(f"two agencies declare {method.name}")
            found[method.name] = method
    return found


def _items(method: NationalMethod, data: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The call's rows and the rest of `data`."""
    if method.items is None:
        return [data], dict(data)
    listed = data.get(method.items)
    if listed is None and method.flat:
        return [data], dict(data)
    header = {name: value for name, value in data.items() if name != method.items}
    return (listed if isinstance(listed, list) else []), header


class NationalEndpoint:
    """The route's handler."""

    def __init__(
        self,
        registry: NationalRegistry,
        methods: Mapping[str, NationalMethod],
        settings: NationalSettings,
        limit: Limit | None = None,
        *,
        body_timeout_seconds: float,
        queued: Callable[[], None] = lambda: None,
    ) -> None:
        """`queued`: told of each call this process queued (its runner's `wake`)."""
        self.registry = registry
        self.methods = methods
        self.settings = settings
        self.limit = limit
        self.body_timeout_seconds = body_timeout_seconds
        self.queued = queued

    async def handle(self, request: Request) -> Response:
        """The call's answer; the audit record around it (`hub.guards`) learns who signed
        it and, for a refusal, why (a tally of them while nobody is authenticated)."""
        try:
            return await self._handle(request)
        except Refusal as refusal:  # the body's deadline (`read_body`): as on every endpoint
            return refusal.response()
        except Refused as refusal:
            request.scope[REFUSED] = True
            if isinstance(trail := request.scope.get("audit"), AuditTrail):
                trail.codes.add(AUDIT_CODES[refusal.code])
            return envelope(
                refusal.code, refusal.zh, message_en=refusal.en, status=refusal.status,
                retry_after=refusal.retry_after,
            )  # fmt: skip
        except (SQLAlchemyError, OSError, KeySealingError) as error:
            log.warning("national interface unavailable: %s", type(error).__name__)
            return envelope(
                UNAVAILABLE, "服务暂不可用，请稍后重试",
                message_en="the hub cannot take calls now; retry later", status=503,
                retry_after=5,
            )  # fmt: skip

    async def _form(self, request: Request) -> dict[str, str]:
        declared = request.headers.get("content-length", "")
        if not declared.isdigit():  # a form without its length could be read without bound
            raise Refused(
                PARAMETER_ERROR, "请求参数错误：缺少 Content-Length",
                "the call must declare its Content-Length",
            )  # fmt: skip
        if int(declared) > self.settings.max_bytes:
            raise Refused(
                PARAMETER_ERROR, f"请求超过 {self.settings.max_bytes >> 20} MiB，请分批上传",
                f"the call is larger than {self.settings.max_bytes >> 20} MiB: send it in parts",
            )  # fmt: skip
        body = await read_body(  # within the deadline every endpoint's body has
            request.scope,
            request.receive,
            max_bytes=self.settings.max_bytes,
            timeout_seconds=self.body_timeout_seconds,
        )
        try:
            form = await Request(request.scope, replayed(body, request.receive)).form(
                max_files=0, max_fields=64
            )
        except Exception:  # a body that is no form: the parser's errors vary by content type
            raise Refused(
                PARAMETER_ERROR, "请求参数错误：应为表单提交（application/x-www-form-urlencoded）",
                "the body is not a form (application/x-www-form-urlencoded)",
            ) from None  # fmt: skip
        params = {name: value for name, value in form.items() if isinstance(value, str)}
        await form.close()
        missing = [name for name in (*national.SIGNED_FIELDS, "sign") if not params.get(name)]
        if missing:
            raise Refused(
                PARAMETER_ERROR, f"请求参数错误：缺少 {', '.join(missing)}",
                f"missing parameters: {', '.join(missing)}",
            )  # fmt: skip
        return params

    async def _handle(self, request: Request) -> Response:
        params = await self._form(request)
        if params["format"].lower() != national.FORMAT or params["version"] != national.VERSION:
            raise Refused(
                PARAMETER_ERROR, "请求参数错误：format 应为 json，version 应为 1.0",
                "format must be json and version 1.0",
            )  # fmt: skip
        submitter = await self.registry.submitter(params["appid"])
        if submitter is None or submitter.revoked:
            raise Refused(
                NO_ACCESS, "无API访问权限：appid 不存在或已停用",
                "no access: the appid is unknown or revoked",
            )  # fmt: skip
        request.scope["claimed_client"] = (submitter.appid, submitter.agency)
        try:
            national.verify_sign(params, submitter.secret)
            national.check_timestamp(
                params["timestamp"], datetime.now(UTC), self.settings.tolerance()
            )
        except NationalError as error:
            raise Refused(SIGN_ERROR, f"签名校验错误：{error.reason_zh}", error.reason_en) from None
        request.scope[AUTHENTICATED] = True
        wait = await self.limit(submitter.appid, submitter.agency) if self.limit else 0.0
        if wait > 0:
            raise Refused(
                UNAVAILABLE, "访问超过限制，请稍后重试",
                f"over this appid's rate: retry in {wait:.1f} s", status=429, retry_after=wait,
            )  # fmt: skip
        fresh = await self.registry.use_nonce(
            submitter.appid, params["nonce"][:64], params["timestamp"]
        )
        if not fresh:
            raise Refused(
                SIGN_ERROR, "签名校验错误：nonce 已使用（重复请求）",
                "the nonce was already used with this timestamp (a replayed call)",
            )  # fmt: skip
        data = self._data(params["data"])
        method_name = params["method"]
        if method_name == national.RESULT_METHOD:
            return await self._result(submitter.appid, data)
        method = self.methods.get(method_name)
        if method is None:
            raise Refused(
                PARAMETER_ERROR, f"请求参数错误：本平台不接收 {method_name}",
                f"the hub does not take {method_name}; it takes"
                f" {', '.join(sorted(self.methods))} and {national.RESULT_METHOD}",
            )  # fmt: skip
        if method.agency != submitter.agency:
            raise Refused(
                NO_ACCESS, f"无API访问权限：{method_name} 写入 {method.agency} 的数据，"
                f"该 appid 属于 {submitter.agency}",
                f"{method_name} writes {method.agency}'s tables;"
                f" this appid is {submitter.agency}'s",
            )  # fmt: skip
        self._check_shape(method, data, submitter.secret)
        serial = (
            f"{method_name.lower().replace('.', '-')}-{params['timestamp']}-{secrets.token_hex(6)}"
        )
        await self.registry.enqueue(serial, submitter.appid, method_name, params["data"])
        self.queued()
        return envelope(OK, "成功", {"requestSerialCode": serial})

    def _data(self, text: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise Refused(
                PARAMETER_ERROR, "请求参数错误：data 应为 JSON 对象", "data must be a JSON object"
            )
        return data

    def _check_shape(self, method: NationalMethod, data: dict[str, Any], secret: str) -> None:
        items, _ = _items(method, data)
        if method.items is not None and (
            not items or not all(isinstance(item, dict) for item in items)
        ):
            raise Refused(
                PARAMETER_ERROR, f"请求参数错误：[{method.items}] 应为非空对象列表",
                f"{method.items} must be a non-empty list of objects",
            )  # fmt: skip
        if len(items) > self.settings.max_items:
            raise Refused(
                PARAMETER_ERROR,
                f"请求参数错误：[{method.items}] 超过 {self.settings.max_items} 条",
                f"{method.items} holds more than {self.settings.max_items} rows:"
                " send them in parts",
            )  # fmt: skip
        try:
            national.decrypt_fields(data, secret)
        except NationalError as error:
            raise Refused(
                PARAMETER_ERROR, f"请求参数错误：{error.reason_zh}", error.reason_en
            ) from None

    async def _result(self, appid: str, data: Mapping[str, Any]) -> Response:
        serial = str(data.get("requestSerialCode") or "")
        found = await self.registry.answer(serial, appid) if serial else None
        if found is None:
            raise Refused(
                PARAMETER_ERROR, "请求参数错误：requestSerialCode 不存在",
                "no call of this appid has that requestSerialCode",
            )  # fmt: skip
        state, result = found
        status = _STATUS.get(state, national.ASYNC_PENDING)
        answer = {"requestSerialCode": serial, "status": status, "result": "处理中"}
        if result is not None:
            answer.update(result)
        return envelope(OK, "成功", answer)


# -- the runner ------------------------------------------------------------------------------


def _row_results(
    count: int, problems: dict[int, list[dict[str, str]]], warnings: dict[int, list[dict[str, str]]]
) -> list[dict[str, Any]]:
    rows = []
    for index in range(count):
        row: dict[str, Any] = {
            "index": index,
            "status": national.ASYNC_FAILED if index in problems else national.ASYNC_DONE,
        }
        if index in problems:
            row["errors"] = problems[index]
        if index in warnings:
            row["warnings"] = warnings[index]
        rows.append(row)
    return rows


Issues = dict[int, list[dict[str, str]]]
"""A call's problems (or warnings) by the index of the item they are about."""


def _merged(found: Sequence[tuple[Issues, Issues]]) -> tuple[Issues, Issues]:
    """Parts' problems and warnings, each item's in the parts' order."""
    problems: Issues = {}
    warnings: Issues = {}
    for part_problems, part_warnings in found:
        for index, listed in part_problems.items():
            problems.setdefault(index, []).extend(listed)
        for index, listed in part_warnings.items():
            warnings.setdefault(index, []).extend(listed)
    return problems, warnings


def _issue(issue: Issue, part: Part) -> dict[str, str]:
    return {
        "field": part.sent_as(issue.column or ""),
        "message": issue.reason_zh,
        "messageEn": issue.reason_en,
    }


GAVE_UP: Final = "处理失败，请重新上传 / the hub could not process the call"
"""The answer to a call the hub failed on `max_attempts` times."""
HELD_CALLS: Final = 16
HELD_SECONDS: Final = 1.0
"""How many answers, and for how long, the runner holds for one refresh of the warning
facts while the queue has more calls (`NationalRunner.run`)."""


@dataclass
class Held:
    """A call run, its answer stored after the next refresh of the warning facts."""

    call: QueuedCall
    state: str
    result: dict[str, Any]
    changed: bool
    renewing: asyncio.Task[None]
    since: float


async def _stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class NationalRunner:
    """Runs queued calls one at a time in this process, each off the event loop."""

    def __init__(
        self,
        registry: NationalRegistry,
        importer: Importer,
        methods: Mapping[str, NationalMethod],
        settings: NationalSettings,
    ) -> None:
        self.registry = registry
        self.importer = importer
        self.methods = methods
        self.settings = settings
        self._woken: asyncio.Event | None = None

    def wake(self) -> None:
        """This process queued a call: an idle runner claims it now, not at its next poll
        (the poll is for calls other processes queued, and leases that lapsed)."""
        if self._woken is not None:
            self._woken.set()

    async def _idle(self, woken: asyncio.Event) -> None:
        """`poll_seconds`, or until `wake` (a cancel that comes with it, the hub stopping
        as a call is accepted, still stops the runner: `until_set`). Cleared before the
        claim that follows, so a call queued during that claim wakes the next wait."""
        await until_set(woken, self.settings.poll_seconds)
        woken.clear()

    async def run(self) -> None:
        """Until cancelled: claim, run, answer; poll when idle (woken by a call this
        process queued), back off on failure.

        Calls run back to back while the queue holds more share one refresh of the warning
        facts: a call's answer is held (its lease still renewed) until the queue is empty,
        `HELD_CALLS` are held or the first was held `HELD_SECONDS`, then the facts are
        refreshed once and every held answer stored, so an answer that says done still
        means the facts include the call. A process killed holding answers leaves those
        calls leased: they run again when their leases lapse, as a call cut off midway."""
        loop = asyncio.get_running_loop()

        def submit(coroutine: Coroutine[Any, Any, Any]) -> Any:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

        lease = timedelta(seconds=self.settings.lease_seconds)
        kept = timedelta(days=self.settings.answer_days)
        nonces_kept = 2 * self.settings.tolerance()
        next_pruning = 0.0
        held: list[Held] = []
        woken = self._woken = asyncio.Event()  # this loop's
        try:
            while True:
                if held and (
                    len(held) >= HELD_CALLS or loop.time() - held[0].since >= HELD_SECONDS
                ):
                    await self._answer_held(held)
                try:
                    if loop.time() >= next_pruning:  # at start and hourly: old answers go
                        await in_thread(self.registry.forget_answers, kept)
                        await in_thread(self.registry.forget_nonces, nonces_kept)
                        next_pruning = loop.time() + 3600
                    run = [done.call.serial for done in held]
                    call = await in_thread(self.registry.claim, lease, run)
                except (SQLAlchemyError, OSError) as error:
                    log.warning("national queue unavailable: %s", type(error).__name__)
                    await self._answer_held(held)
                    await asyncio.sleep(self.settings.poll_seconds * 10)
                    continue
                if call is None:
                    if held:
                        await self._answer_held(held)
                    else:
                        await self._idle(woken)
                    continue
                renewing = asyncio.create_task(self._renew(call.serial, lease))
                try:
                    state, result, changed = await in_thread(self._run_call, call, submit)
                except Exception as error:  # the call stays leased and is tried again
                    await _stopped(renewing)
                    log.warning(
                        "national call %s failed on attempt %d: %s",
                        call.serial, call.attempts, type(error).__name__,
                    )  # fmt: skip
                    # A table it wrote before failing stays written (each is all or nothing,
                    # the call is not): the facts refreshed for it, as for a call that ran.
                    await self._answer_held(held, refresh=True)
                    if call.attempts >= self.settings.max_attempts:
                        with contextlib.suppress(SQLAlchemyError, OSError):
                            await in_thread(
                                self.registry.finish, call.serial, FAILED, {"result": GAVE_UP}
                            )
                    await asyncio.sleep(self.settings.poll_seconds)
                    continue
                held.append(Held(call, state, result, changed, renewing, loop.time()))
        finally:  # cancelled (the hub stops): the calls run are answered before it does
            self._woken = None
            await self._answer_held(held)

    async def _answer_held(self, held: list[Held], *, refresh: bool = False) -> None:
        """One refresh of the warning facts if a held call changed rows (or `refresh`),
        then every held answer stored. A refresh that raises stores none: those calls run
        again when their leases lapse (imports are upserts), as when a call's own refresh
        failed."""
        if not held and not refresh:
            return
        try:
            changed = refresh or any(done.changed for done in held)
            if changed and self.importer.refresh_facts is not None:
                await self.importer.refresh_facts()
            for done in held:
                try:
                    await in_thread(self.registry.finish, done.call.serial, done.state, done.result)
                except (SQLAlchemyError, OSError) as error:  # run again when its lease lapses
                    log.warning(
                        "national call %s: its answer was not stored: %s",
                        done.call.serial, type(error).__name__,
                    )  # fmt: skip
        except Exception as error:
            log.warning("national calls: the refresh after them failed: %s", type(error).__name__)
        finally:
            for done in held:
                await _stopped(done.renewing)
            held.clear()

    async def _renew(self, serial: str, lease: timedelta) -> None:
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            with contextlib.suppress(SQLAlchemyError, OSError):
                await in_thread(self.registry.renew, serial, lease)

    def process(self, call: QueuedCall, submit: Any) -> tuple[str, dict[str, Any]]:
        """(state, answer) of one call, the warning facts refreshed after it if it changed
        rows; raises only when the hub itself failed."""
        state, answer, changed = self._run_call(call, submit)
        if changed:
            self.importer.refresh(submit)
        return state, answer

    def _run_call(self, call: QueuedCall, submit: Any) -> tuple[str, dict[str, Any], bool]:
        """(state, answer, whether it changed rows) of one call; the facts not refreshed."""
        method = self.methods.get(call.method)
        submitter = self.registry.submitter_now(call.appid)
        if method is None or submitter is None:
            gone = "处理失败：方法或 appid 已不可用 / method or appid gone"
            return FAILED, {"result": gone}, False
        try:
            data = national.decrypt_fields(json.loads(call.data), submitter.secret)
        except NationalError as error:
            return FAILED, {"result": f"{error.reason_zh} / {error.reason_en}"}, False
        items, header = _items(method, data)
        database = self.importer.database(method.agency)
        conversion = method.convert(items, header, database)
        if conversion.problems:
            problems: dict[int, list[dict[str, str]]] = {}
            for problem in conversion.problems:
                problems.setdefault(problem.item, []).append(
                    {
                        "field": problem.field,
                        "message": problem.reason_zh,
                        "messageEn": problem.reason_en,
                    }
                )
            return FAILED, self._answer(len(items), problems, {}, [], refused=True), False
        sender = Sender(
            submitted_by=f"national:{call.appid}",
            client_id=f"national:{call.appid}",
            purpose=SUBMISSION_PURPOSE,
            channel=CHANNEL,
            request_id=uuid.uuid5(uuid.NAMESPACE_URL, call.serial).hex,
        )
        with tempfile.TemporaryDirectory(prefix="national-") as directory:
            files = self._write(conversion, Path(directory))
            return self._load(method, conversion, files, sender, submit, len(items), database)

    def _write(self, conversion: Conversion, directory: Path) -> list[Path]:
        paths = []
        for number, part in enumerate(conversion.parts):
            path = directory / f"{number}-{part.table}.jsonl"
            with path.open("w", encoding="utf-8") as out:
                for row in part.rows:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
            paths.append(path)
        return paths

    def _load(
        self,
        method: NationalMethod,
        conversion: Conversion,
        files: Sequence[Path],
        sender: Sender,
        submit: Any,
        count: int,
        database: Any,
    ) -> tuple[str, dict[str, Any], bool]:
        agency = method.agency
        parts = [
            (part, path) for part, path in zip(conversion.parts, files, strict=True) if part.rows
        ]
        problems: Issues = {}
        warnings: Issues = {}
        # All or nothing: every part after the first is checked (a dry run) before any is
        # written; the first is checked by its own import, which writes nothing, and
        # registers no refused batch, when it is refused (its dry run was 65 of the round
        # trip's 441 imports). A refusal answers with every part's problems, in order.
        later: list[tuple[Issues, Issues]] = []

        def refuse(first: ImportResult) -> tuple[str, dict[str, Any], bool]:
            """The call refused with every part's problems, the first part's from `first`."""
            found: tuple[Issues, Issues] = ({}, {})
            self._collect(first, parts[0][0], *found)
            merged = _merged([found, *later])
            return FAILED, self._answer(count, *merged, [], refused=True), False

        if len(parts) > 1:
            for part, path in parts[1:]:
                later.append(({}, {}))
                result = self._import(agency, part, path, sender, submit, dry_run=True)
                self._collect(result, part, *later[-1])
            if any(found for found, _ in later):
                part, path = parts[0]
                return refuse(self._import(agency, part, path, sender, submit, dry_run=True))
        batches = []
        changed = False  # the caller refreshes the facts once for the call's tables
        for number, (part, path) in enumerate(parts):
            checking = number == 0 and bool(later)  # the first of several: its check too
            result = self._import(
                agency, part, path, sender, submit, dry_run=False, register_refusal=not checking
            )
            if checking and not result.applied:  # nothing written, as its dry run's refusal
                return refuse(result)
            changed = changed or changed_rows(result)
            batches.append(result.summary())
            self._collect(result, part, problems, warnings)
            if not result.applied:
                refused = self._answer(count, problems, warnings, batches, refused=True)
                return FAILED, refused, changed
        answer = self._answer(count, problems, warnings, batches, refused=False)
        if conversion.answer is not None:
            for row, extra in zip(answer["rows"], conversion.answer(database), strict=False):
                row.update(extra)
        return DONE, answer, changed

    def _import(
        self,
        agency: str,
        part: Part,
        path: Path,
        sender: Sender,
        submit: Any,
        *,
        dry_run: bool,
        register_refusal: bool = True,
    ) -> ImportResult:
        options = ImportOptions(
            format="jsonl",
            name=f"{sender.submitted_by} {part.table}",
            dry_run=dry_run,
            submitted_by=sender.submitted_by,
            channel=CHANNEL,
            register_refusal=register_refusal,
        )
        return self.importer.run(
            agency, part.table, path, options, sender, submit, refresh=False
        )  # the facts refreshed once for the call (`process`, `run`)

    def _collect(
        self,
        result: ImportResult,
        part: Part,
        problems: dict[int, list[dict[str, str]]],
        warnings: dict[int, list[dict[str, str]]],
    ) -> None:
        try:
            for issue in result.report.issues():
                target = problems if issue.severity == "error" else warnings
                row = issue.row or 0  # none, or past the part's rows: the call's first item
                item = part.items[row - 1] if 1 <= row <= len(part.items) else 0
                target.setdefault(item, []).append(_issue(issue, part))
            if result.report.file_error is not None:
                problems.setdefault(0, []).append(_issue(result.report.file_error, part))
        finally:
            result.report.close()

    def _answer(
        self,
        count: int,
        problems: dict[int, list[dict[str, str]]],
        warnings: dict[int, list[dict[str, str]]],
        batches: list[dict[str, Any]],
        *,
        refused: bool,
    ) -> dict[str, Any]:
        failed = sum(1 for index in range(count) if index in problems)
        summary = (
            f"处理失败：{failed} 行有错误，未写入任何数据 / refused: {failed} rows in error,"
            " nothing written"
            if refused
            else f"处理成功：{count} 行 / done: {count} rows"
        )
        return {
            "result": summary,
            "rows": _row_results(count, problems, warnings),
            "batches": [
                {
                    key: batch.get(key)
                    for key in ("table", "batchId", "inserted", "updated", "unchanged", "outcome")
                }
                for batch in batches
            ],
        }
