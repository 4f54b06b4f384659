"""One contract, two transports (`connectors.transport`): every agency's loaders answer
the same through its database in process (`LocalTransport`) as through its service
(`RemoteTransport`), here over `httpx.MockTransport` to the agency's own answering side
(`connectors.serving`) on the same seeded database. A batching wave is one HTTP request;
a list query's rows warm its loader on both."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conftest import RunningHub
from connectors.base import Connector, alembic_version_table
from connectors.credentials import ClientCredentials
from connectors.housing.loaders import HousingLoaders, WorkerFilter
from connectors.loading import AgencyLoaders
from connectors.local import LocalTransport
from connectors.remote import RemoteTransport
from connectors.resilience import RemotePolicy
from connectors.serving import answer_calls
from connectors.wire import response_body
from kernel.batching import Waves
from kernel.caller import Caller
from kernel.scopes import CONNECTOR_LOAD
from storage.database import Database

SAMPLE = 3
CALLER = Caller("test-all-access", purpose="testing")


class Both:
    """One agency's loaders through each transport, on the same database."""

    def __init__(self, connector: Connector) -> None:
        url = connector.database.url.render_as_string(hide_password=False)
        self.loaders_class = connector.loaders
        self.local = LocalTransport(Database(url), alembic_version_table(connector.name))
        self.requests: list[httpx.Request] = []
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.answer))
        tokens = ClientCredentials(http, "http://hub/oauth/token", "hub", "s", CONNECTOR_LOAD)
        self.remote = RemoteTransport(connector.name, "http://agency", http, tokens, RemotePolicy())

    async def answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        self.requests.append(request)
        results = await answer_calls(self.loaders_class, self.local, json.loads(request.content))
        return httpx.Response(200, json=response_body(results))

    def loaders(self) -> tuple[AgencyLoaders, AgencyLoaders]:
        return (
            self.loaders_class(self.local.session(CALLER), Waves()),
            self.loaders_class(self.remote.session(CALLER), Waves()),
        )

    async def close(self) -> None:
        await self.remote.http.aclose()
        await self.local.dispose()


def _plain(value: Any) -> Any:
    """A value with its rows as mappings: SQLAlchemy's rows and the wire's compare alike."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if hasattr(value, "_asdict"):
        return value._asdict()
    return value


def test_every_look_up_answers_alike_over_either_transport(hub: RunningHub) -> None:
    async def compare(connector: Connector) -> None:
        both = Both(connector)
        try:
            specs = connector.loaders.loader_specs()
            keys = {}
            for name, spec in specs.items():
                columns = spec.columns if isinstance(spec.columns, tuple) else (spec.columns,)
                present = [column.is_not(None) for column in columns]
                sample = select(*columns).where(*present).distinct().limit(SAMPLE)
                rows = await both.local.database.fetch(sample)
                keys[name] = [row[0] if len(columns) == 1 else tuple(row) for row in rows]
            local, remote = both.loaders()

            async def every(loaders: AgencyLoaders) -> list[Any]:
                return await asyncio.gather(
                    *(getattr(loaders, name).load_many(keys[name]) for name in specs)
                )

            in_process, over_http = await every(local), await every(remote)
            assert _plain(over_http) == _plain(in_process), connector.name
            assert any(in_process), connector.name  # the sample found rows
            assert len(both.requests) == 1  # one wave, one request, every look-up in it
        finally:
            await both.close()

    for connector in hub.connectors:
        asyncio.run(compare(connector))


def test_a_list_query_answers_alike_and_warms_its_loader(hub: RunningHub) -> None:
    [housing] = [c for c in hub.connectors if c.loaders is HousingLoaders]

    async def run() -> None:
        both = Both(housing)
        try:
            answers = []
            for loaders in both.loaders():
                assert isinstance(loaders, HousingLoaders)
                page = await loaders.workers_page(WorkerFilter(), None, 5)
                total = await loaders.count_workers(criteria=WorkerFilter())  # by keyword too
                asked = len(both.requests)
                worker = await loaders.worker.load(page[0].id_number)
                assert len(both.requests) == asked  # primed by the page: no call
                answers.append((_plain(page), total, _plain(worker)))
            local, remote = answers
            assert remote == local
            assert len(local[0]) == 5
        finally:
            await both.close()

    asyncio.run(run())


def test_the_local_transport_checks_the_database_is_migrated(hub: RunningHub) -> None:
    url = hub.connectors[0].database.url.render_as_string(hide_password=False)

    async def run(version_table: str) -> None:
        transport = LocalTransport(Database(url), version_table)
        try:
            await transport.check_health()
        finally:
            await transport.dispose()

    asyncio.run(run(alembic_version_table(hub.connectors[0].name)))
    with pytest.raises(Exception, match="no_such_version_table"):
        asyncio.run(run("no_such_version_table"))
