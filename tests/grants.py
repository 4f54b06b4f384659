"""Test clients with a chosen grant, registered on the running hub (or brought up to date
when an earlier test registered them), for tests that need a grant no demo agency has."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auth.errors import ClientExists
from auth.store import Grant
from conftest import TEST_PURPOSE, RunningHub


def register_client(
    hub: RunningHub,
    client_id: str,
    scopes: Sequence[str],
    limits: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """Registers `client_id` with these scopes and row limits (purpose `testing`); its
    secret goes to `hub.secrets`, so `hub.as_client(client_id)` and `hub.token` work."""
    grant = Grant(
        agency="test",
        scopes=tuple(scopes),
        purposes=(TEST_PURPOSE,),
        limits={name: tuple(values) for name, values in (limits or {}).items()},
    )
    if client_id not in hub.secrets:
        try:
            hub.secrets[client_id] = hub.auth.add_client(client_id, grant)
        except ClientExists:
            hub.auth.set_grant(client_id, grant)
            hub.secrets[client_id] = hub.auth.rotate_secret(client_id)
    return client_id
