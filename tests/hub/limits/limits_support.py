"""A hub served with settings of a test's choosing (production mode, trusted documents,
tight rates, a tiny timeout): migrated but not seeded, since limits refuse before any
data is read. Two clients: `plain-client` (every scope but `schema:introspect`) and
`introspector` (every scope)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from auth.store import Grant
from conftest import TEST_PURPOSE, ClientCredentials, migrated_settings, serving
from hub.app import create_app
from hub.limits.sources import SourceLimits
from hub.settings import HubSettings
from kernel.scopes import SCHEMA_INTROSPECT, vocabulary

PLAIN = "plain-client"
INTROSPECTOR = "introspector"


@dataclass
class LimitedHub:
    url: str
    settings: HubSettings
    secrets: dict[str, str]
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, client_id: str = PLAIN) -> httpx.Client:
        client = httpx.Client(
            base_url=self.url,
            timeout=30,
            auth=ClientCredentials(client_id, self.secrets[client_id]),
            headers={"X-Purpose": TEST_PURPOSE},
        )
        self._clients.append(client)
        return client


@contextmanager
def limited_hub(data_dir: Path, **overrides: Any) -> Iterator[LimitedHub]:
    """Its databases are copies of ones migrated once per test process (conftest's
    `migrated_settings`): migrating each hub's afresh took 0.4 CPU s."""
    overrides.setdefault("sources", SourceLimits(failures="off"))  # unless a test sets them
    settings = migrated_settings("sqlite", data_dir, "unused", **overrides)
    app = create_app(settings)
    auth = app.state.auth_store
    plain = tuple(scope for scope in vocabulary() if scope != SCHEMA_INTROSPECT)
    secrets = {
        PLAIN: auth.add_client(PLAIN, Grant("test", plain, (TEST_PURPOSE,))),
        INTROSPECTOR: auth.add_client(INTROSPECTOR, Grant("test", vocabulary(), (TEST_PURPOSE,))),
    }
    with serving(app, settings.limits) as url:
        running = LimitedHub(url, settings, secrets)
        yield running
        for client in running._clients:
            client.close()
