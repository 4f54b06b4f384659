"""`hub users …` (people at the web desk) and `hub desk verify-pdf` (is a dossier PDF one
the hub produced, unchanged?)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from auth.roles import ROLES
from kernel.deferred import deferred

if TYPE_CHECKING:
    from auth import staff
    from hub import wiring
    from hub.settings import HubSettings
    from web import verify
else:
    staff = deferred("auth.staff")
    wiring = deferred("hub.wiring")
    verify = deferred("web.verify")

Commands = argparse._SubParsersAction


def _staff(settings: HubSettings) -> staff.StaffStore:
    return staff.StaffStore(wiring.build_auth_store(settings), settings.desk)


def _password(args: argparse.Namespace) -> str | None:
    """From standard input with --password-stdin (scripts), else None: a new one is made."""
    return sys.stdin.readline().rstrip("\n") if args.password_stdin else None


def _users_add(settings: HubSettings, args: argparse.Namespace) -> int:
    password = _staff(settings).add_user(
        args.username,
        args.client,
        args.role,
        display_name=args.name or "",
        password=_password(args),
    )
    _print_password(args.username, password, shown=not args.password_stdin)
    return 0


def _print_password(username: str, password: str, *, shown: bool) -> None:
    print(f"user      {username}")
    if shown:
        print(f"password  {password}")
        print("Hand it over now: it is shown this once and kept only as an argon2id hash.")


def _users_list(settings: HubSettings, args: argparse.Namespace) -> int:
    for account in _staff(settings).users(args.client):
        state = "disabled" if account.disabled_at else "active"
        if account.locked_until:
            state += f", locked until {account.locked_until:%Y-%m-%d %H:%M} UTC"
        print(f"{account.username}  {account.client_id}  {account.role}  {state}")
        print(f"    {account.display_name}")
    return 0


def _users_disable(settings: HubSettings, args: argparse.Namespace) -> int:
    _staff(settings).disable(args.username)
    print(f"disabled {args.username}: signed out everywhere, no new sign-in")
    return 0


def _users_enable(settings: HubSettings, args: argparse.Namespace) -> int:
    _staff(settings).enable(args.username)
    print(f"enabled {args.username}")
    return 0


def _users_reset(settings: HubSettings, args: argparse.Namespace) -> int:
    password = _staff(settings).reset(args.username, _password(args))
    _print_password(args.username, password, shown=not args.password_stdin)
    print("The account is unlocked and its sessions have ended.")
    return 0


def _users_unlock(settings: HubSettings, args: argparse.Namespace) -> int:
    _staff(settings).unlock(args.username)
    print(f"unlocked {args.username}")
    return 0


def add_users_parser(commands: Commands) -> None:
    users = commands.add_parser("users", help="people who sign in to the web desk")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register a person under an agency's client")
    add.add_argument("username")
    add.add_argument("--client", required=True, help="the agency client they act through")
    add.add_argument("--role", required=True, choices=sorted(ROLES))
    add.add_argument("--name", help="how the desk shows them (default: the user name)")
    add.add_argument("--password-stdin", action="store_true", help="read the password")
    add.set_defaults(run=_users_add)
    listing = actions.add_parser("list", help="every person, or one client's")
    listing.add_argument("--client")
    listing.set_defaults(run=_users_list)
    for name, run, text in (
        ("disable", _users_disable, "no more sign-ins; open sessions end"),
        ("enable", _users_enable, "allow sign-in again"),
        ("unlock", _users_unlock, "end a lockout after repeated bad passwords"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("username")
        action.set_defaults(run=run)
    reset = actions.add_parser("reset", help="a new password; unlocks, ends sessions")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")
    reset.set_defaults(run=_users_reset)


def _verify_pdf(settings: HubSettings, args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        content = path.read_bytes()
    except OSError as error:
        print(f"hub: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 1
    audit = wiring.build_audit_store(settings, wiring.build_auth_store(settings))
    check = verify.check_pdf(audit.database, content)
    if check.genuine and check.record is not None:
        record = check.record
        print(f"OK: {path} was produced by this hub, unchanged (SHA-256 {check.sha256})")
        print(f"    audit record {record['seq']}, request {record['request_id']}, {record['at']}")
        print(
            f"    client {record['client_id']} ({record['agency']}), user {record.get('user')},"
            f" purpose {record['purpose']} {record['purpose_reference'] or ''}"
        )
        return 0
    print(f"NOT VERIFIED: no audit record names a PDF with SHA-256 {check.sha256}")
    if check.record is not None:
        print("    a record names it, but it no longer matches the chain: run hub audit verify")
    elif check.claimed_request_id:
        print(
            f"    the file says it comes from request {check.claimed_request_id}:"
            " it has been changed since, or the hub did not produce it"
        )
    return 2


def add_desk_parser(commands: Commands) -> None:
    desk = commands.add_parser("desk", help="the web desk's documents")
    actions = desk.add_subparsers(dest="action", required=True)
    verify = actions.add_parser(
        "verify-pdf", help="is a dossier PDF one this hub produced, unchanged? exit 2 if not"
    )
    verify.add_argument("file")
    verify.set_defaults(run=_verify_pdf)
