"""The demo agencies as registered clients (`hub seed`): one per `DEMO_GRANTS` profile."""

from __future__ import annotations

from auth.errors import ClientExists
from auth.scopes import DEMO_GRANTS, DemoGrant
from auth.store import AuthStore, Grant


def grant_of(demo: DemoGrant) -> Grant:
    return Grant(
        agency=demo.agency,
        title=demo.title,
        scopes=demo.scopes,
        purposes=demo.purposes,
        regions=demo.regions,
        courts=demo.courts,
        bank=demo.bank,
    )


def register_demo_clients(store: AuthStore) -> dict[str, str]:
    """Registers every demo client, or brings an existing one's grant up to date and
    rotates its secret, so the secrets returned (client id → secret) always work."""
    secrets: dict[str, str] = {}
    for demo in DEMO_GRANTS:
        grant = grant_of(demo)
        try:
            secrets[demo.client_id] = store.add_client(demo.client_id, grant)
        except ClientExists:
            store.set_grant(demo.client_id, grant)
            secrets[demo.client_id] = store.rotate_secret(demo.client_id)
    return secrets
