"""`/graphql/stream`: GraphQL over Server-Sent Events, the graphql-sse protocol's
"distinct connections mode" — one operation per connection, sent as GraphQL over HTTP
(POST JSON, or GET with `query`, `variables`, `operationName`), answered with
`text/event-stream`:

    event: next
    id: 42                 (a warning event's id: the browser's EventSource sends it back
    data: {"data": …}       as Last-Event-ID when it reconnects, and the stream resumes)

    event: complete
    data:

A subscription (`warningEvents`) streams until the client goes away; a query or
mutation is one `next` then `complete`; errors before execution are a `next` with the
errors (never a 4xx once the stream is accepted, which EventSource would not read). A
comment line every `keepalive` seconds keeps idle proxies from closing the connection.

Each event streamed leaves an audit record as it is built (`alerts.payloads`); the stream
itself is not held for a record the way a plain request is, since it never ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Callable
from typing import Any, Final

from graphql import OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLError
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send
from strawberry.types import ExecutionResult

from alerts.graph import LastEventId
from graph.schema import HubSchema
from kernel.context import RequestContext

KEEPALIVE_SECONDS: Final = 15.0
_HEADERS: Final = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-store"),
    (b"x-accel-buffering", b"no"),
]


class _Done:
    """The end of the operation's results."""


def _frame(event: str, data: str = "", event_id: str | None = None) -> bytes:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {data}")
    return ("\n".join(lines) + "\n\n").encode()


def _result_json(result: ExecutionResult) -> str:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)


def _event_id(result: ExecutionResult) -> str | None:
    """The streamed event's id, when the operation selected it."""
    for value in (result.data or {}).values():
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            return str(value["id"])
    return None


class StreamEndpoint:
    def __init__(
        self,
        schema: HubSchema,
        context: Callable[[Scope], RequestContext],
        keepalive: float = KEEPALIVE_SECONDS,
    ) -> None:
        self.schema = schema
        self.context = context
        self.keepalive = keepalive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        params = await _params(request)
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await _body(send, b": open\n\n")  # servers send the head with the first body bytes
        context = self.context(scope)
        last = request.headers.get("last-event-id")
        if last:
            context.per_request[LastEventId] = LastEventId(last)
        queue: asyncio.Queue[ExecutionResult | _Done] = asyncio.Queue(maxsize=16)
        producing = asyncio.create_task(self._produce(params, context, queue))
        watching = asyncio.create_task(_disconnected(receive))
        try:
            await self._pump(queue, watching, send)
        finally:
            for task in (producing, watching):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _pump(
        self,
        queue: asyncio.Queue[ExecutionResult | _Done],
        watching: asyncio.Task[None],
        send: Send,
    ) -> None:
        while not watching.done():
            getting = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait(
                {getting, watching}, timeout=self.keepalive, return_when=asyncio.FIRST_COMPLETED
            )
            if getting not in done:
                getting.cancel()
                if watching.done():
                    return
                await _body(send, b": keep-alive\n\n")
                continue
            item = getting.result()
            if isinstance(item, _Done):
                await _body(send, _frame("complete"), more=False)
                return
            await _body(send, _frame("next", _result_json(item), _event_id(item)))

    async def _produce(
        self,
        params: dict[str, Any],
        context: RequestContext,
        queue: asyncio.Queue[ExecutionResult | _Done],
    ) -> None:
        try:  # closed here when cancelled, so a subscription's own clean-up runs now
            async with contextlib.aclosing(self._results(params, context)) as results:
                async for result in results:
                    await queue.put(result)
        finally:
            await queue.put(_Done())

    async def _results(
        self, params: dict[str, Any], context: RequestContext
    ) -> AsyncGenerator[ExecutionResult, None]:
        query = params.get("query")
        variables = params.get("variables")
        name = params.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict | None):
            yield _failed("send `query` (a string) and `variables` (an object)")
            return
        try:
            document = parse(query)
        except GraphQLError as error:
            yield ExecutionResult(data=None, errors=[error])
            return
        kinds = {
            d.operation
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            and (name is None or (d.name is not None and d.name.value == name))
        }
        if OperationType.SUBSCRIPTION not in kinds:
            yield await self.schema.execute(
                query, variable_values=variables, context_value=context, operation_name=name
            )
            return
        subscribed = await self.schema.subscribe(
            query, variable_values=variables, context_value=context, operation_name=name
        )
        if isinstance(subscribed, ExecutionResult):
            yield subscribed
            return
        async with contextlib.aclosing(subscribed):
            async for result in subscribed:
                yield result


def _failed(message: str) -> ExecutionResult:
    return ExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": "BAD_REQUEST"})]
    )


async def _params(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        found: dict[str, Any] = dict(request.query_params)
        if "variables" in found:
            try:
                found["variables"] = json.loads(found["variables"])
            except ValueError:
                found["variables"] = "not JSON"
        return found
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _disconnected(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _body(send: Send, data: bytes, *, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})
