"""`hub national`: the appids and appsecrets provinces' uploaders use on the national
platform interface (`POST /open.api`), one or more per submitting agency.

    hub national add-submitter --agency housing --title "某省住建厅实名制平台"
    hub national list
    hub national revoke APPID

The appsecret is printed once. It is kept sealed under the key-encryption key
(`HUB_TOKEN_KEK_FILE`), not hashed: it is also the AES key the uploader encrypts ID and
card numbers with, so the hub must be able to use it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from auth.errors import RegistryError
from kernel.deferred import deferred

if TYPE_CHECKING:
    import connectors
    from auth import national
    from hub import wiring
    from hub.settings import HubSettings
else:
    connectors = deferred("connectors")
    national = deferred("auth.national")
    wiring = deferred("hub.wiring")


def _registry(settings: HubSettings) -> national.NationalRegistry:
    store = wiring.build_auth_store(settings)
    return national.NationalRegistry(store.database, store.sealer)


def submitting_agencies() -> dict[str, tuple[str, ...]]:
    """Agency → the write methods it takes on the interface."""
    return {
        connector.name: tuple(method.name for method in methods)
        for connector in connectors.discover()
        if (methods := getattr(connector, "national_methods", ()))
    }


def _add(settings: HubSettings, args: argparse.Namespace) -> int:
    agencies = submitting_agencies()
    if args.agency not in agencies:
        raise RegistryError(
            f"{args.agency!r} takes no national-interface calls; agencies that do:"
            f" {', '.join(sorted(agencies))}"
        )
    registry = _registry(settings)
    try:
        appid, secret = registry.add_submitter(args.agency, args.title or "")
    finally:
        registry.close()
    print(f"appid      {appid}")
    print(f"appsecret  {secret}")
    print(f"methods    {' '.join(agencies[args.agency])} AsyncHandleResult.Query")
    print("The appsecret is shown this once: give it to the uploader's operator now.")
    return 0


def _list(settings: HubSettings, args: argparse.Namespace) -> int:
    registry = _registry(settings)
    try:
        for submitter in registry.submitters():
            status = (
                f"revoked {submitter.revoked_at:%Y-%m-%d %H:%M}"
                if submitter.revoked_at
                else "active"
            )
            print(f"{submitter.appid}  {submitter.agency}  {status}  {submitter.title}")
    finally:
        registry.close()
    return 0


def _revoke(settings: HubSettings, args: argparse.Namespace) -> int:
    registry = _registry(settings)
    try:
        registry.revoke(args.appid)
    finally:
        registry.close()
    print(f"revoked {args.appid}: its calls are refused within seconds")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    national = commands.add_parser(
        "national", help="submitters on the national platform interface (POST /open.api)"
    )
    actions = national.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add-submitter", help="issue an appid and appsecret (printed once)")
    add.add_argument("--agency", required=True, help="the agency whose tables it writes")
    add.add_argument("--title", help="who submits, e.g. the province's real-name platform")
    add.set_defaults(run=_add)
    actions.add_parser("list", help="every submitter (no secrets)").set_defaults(run=_list)
    revoke = actions.add_parser("revoke", help="refuse the appid's calls from now on")
    revoke.add_argument("appid")
    revoke.set_defaults(run=_revoke)
