"""Webhook receivers for the tests: real HTTP servers (Starlette on uvicorn, in a thread)
that record what they are sent and answer as told — 200, 500 forever, slowly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerts.signing import verify
from conftest import serving


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    def verified(self, secret: str) -> str:
        return verify(secret, self.headers, self.body)


@dataclass
class Receiver:
    status: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            with self._lock:
                self.received.append(Received(dict(request.headers), body, time.monotonic()))
            if self.delay:
                await asyncio.sleep(self.delay)
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    @property
    def ids(self) -> list[str]:
        with self._lock:
            return [r.id for r in self.received]

    def wait_for(self, check: Callable[[list[Received]], bool], seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                if check(list(self.received)):
                    return
            time.sleep(0.05)
        raise AssertionError(f"not received in {seconds} s: {len(self.received)} requests")


@contextlib.contextmanager
def receiving(receiver: Receiver, port: int | None = None) -> Iterator[Receiver]:
    with serving(receiver.app(), port=port) as base:
        receiver.url = f"{base}/hook"
        yield receiver
