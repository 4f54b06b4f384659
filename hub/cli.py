"""The `hub` command: serve, migrate, seed, manage agency clients and signing keys,
register trusted documents; verify, export and archive the audit log and manage its
key; run a witness for another party's log.

A command's own modules are imported when it runs (`kernel.deferred`): `hub --help`,
`hub migrate` or an agency's service do not import the hub's app, the audit log's
operations or the witness."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import logging.config
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hub import (
    arguments,
    data_commands,
    facts,
    national_commands,
    warnings_cli,
)
from hub.desk_cli import add_desk_parser, add_users_parser
from kernel.deferred import deferred
from kernel.errors import ConfigurationError, MigrationRefused

if TYPE_CHECKING:
    import graphql
    import sqlalchemy.exc as sqlalchemy_errors

    import audit.cosigner as cosigning
    import audit.operations as operations
    import audit.witness_app as witness_app
    import auth.sealing as sealing
    import auth.store as auth_stores
    import connectors
    import graph.jurisdiction as jurisdiction
    import graph.merged as merged
    import hub.app as hub_app
    import hub.demo as demo
    import hub.graph as hub_graph
    import hub.limits.documents as documents
    import hub.settings as hub_settings
    import hub.subgraph_app as subgraph_app
    import hub.wiring as wiring
    import storage.keys as key_files
    from hub import checks, provision, seeding, serving, telemetry
    from hub.settings import HubSettings
    from storage import migrate
else:
    graphql = deferred("graphql")
    sqlalchemy_errors = deferred("sqlalchemy.exc")
    cosigning = deferred("audit.cosigner")
    operations = deferred("audit.operations")
    witness_app = deferred("audit.witness_app")
    sealing = deferred("auth.sealing")
    auth_stores = deferred("auth.store")
    connectors = deferred("connectors")
    jurisdiction = deferred("graph.jurisdiction")
    merged = deferred("graph.merged")
    checks = deferred("hub.checks")
    hub_app = deferred("hub.app")
    demo = deferred("hub.demo")
    hub_graph = deferred("hub.graph")
    documents = deferred("hub.limits.documents")
    provision = deferred("hub.provision")
    seeding = deferred("hub.seeding")
    serving = deferred("hub.serving")
    hub_settings = deferred("hub.settings")
    subgraph_app = deferred("hub.subgraph_app")
    telemetry = deferred("hub.telemetry")
    wiring = deferred("hub.wiring")
    key_files = deferred("storage.keys")
    migrate = deferred("storage.migrate")

DEMO_CLIENTS_FILE = "demo-clients.json"


def _serve(settings: HubSettings, args: argparse.Namespace) -> int:
    """The app is built once here, so a configuration mistake is one line before anything
    is bound; the address served goes to every worker's settings (and the issuer)."""
    for name, given in (("HUB_HOST", args.host), ("HUB_PORT", args.port)):
        if given:
            os.environ[name] = str(given)
    settings = hub_settings.HubSettings()
    workers = args.workers or settings.workers
    problems = checks.static_problems(settings)
    for problem in problems:
        logging.getLogger("hub").warning("%s; fix: %s", problem.what, problem.fix)
    if errors := [problem for problem in problems if not problem.warning]:
        raise ConfigurationError(f"{errors[0].what}; fix: {errors[0].fix} (see `hub check`)")
    try:
        app = hub_app.create_app(settings)
    except (ValueError, OSError) as error:  # a setting create_app could not use
        raise ConfigurationError(checks.configuration_lines(error)[0]) from error
    if workers > 1:  # each worker counts into files there; /metrics adds them up
        telemetry.prepare_multiprocess(settings.data_dir.resolve() / "metrics")
    config = serving.server_config(
        "hub.app:create_app" if workers > 1 else app,
        settings.limits,
        factory=workers > 1,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_config=telemetry.log_config(settings.json_logs),
    )
    serving.run(config, worker_start_seconds=settings.limits.worker_start_seconds)
    return 0


def _check(settings: HubSettings, args: argparse.Namespace) -> int:
    facts, problems = checks.run_check(settings)
    if args.env_file:
        problems = [*checks.env_file_problems(args.env_file), *problems]
    for fact in facts:
        print(fact)
    if not problems:
        print("ready: no problems found")
        return 0
    print(f"{len(problems)} problem(s):")
    for line in checks.format_problems(problems):
        print(f"- {line}")
    return 1


def _init(settings: HubSettings, args: argparse.Namespace) -> int:
    """A production configuration, migrated databases and the first administrative client."""
    config_dir: Path = args.config_dir
    env_file = config_dir / provision.ENV_FILE
    if env_file.exists():
        print(
            f"hub: {env_file} exists: `hub init` does not replace a configuration", file=sys.stderr
        )
        return 1
    key_files.private_directory(config_dir)
    values = provision.production_settings(args, config_dir)
    if args.postgres and args.create_databases:
        urls = {k: v for k, v in values.items() if k.endswith("_DB_URL")}
        created = provision.create_databases(urls)
        print(f"created databases: {', '.join(created) or 'none (all existed)'}")
    provision.write_env_file(env_file, values)
    print(f"wrote {env_file} (0600) and the keys in {config_dir / 'keys'} (0600)")
    os.environ.update(values)
    settings = hub_settings.HubSettings()
    if _migrate(settings, argparse.Namespace(new=None)) != 0:
        return 1
    secret = wiring.build_auth_store(settings).add_client(
        args.admin_client, provision.admin_grant()
    )
    print("the first administrative client (audit log, metrics, introspection):")
    _print_secret(args.admin_client, secret)
    facts, problems = checks.run_check(settings)
    for line in [*facts, *checks.format_problems(problems)]:
        print(line)
    print(f"serve with the environment of {env_file}: `hub --env-file {env_file} serve`")
    return 0


def _connector_serve(settings: HubSettings, args: argparse.Namespace) -> int:
    try:
        app = subgraph_app.create_subgraph_app(args.agency, settings, delegates=args.delegate)
    except subgraph_app.UnknownAgency as error:
        print(f"hub: {error}", file=sys.stderr)
        return 1
    serving.run(
        serving.server_config(app, settings.limits, host=args.host or settings.host, port=args.port)
    )
    return 0


def _add_connector_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connector = commands.add_parser("connector", help="one agency's connector as its own service")
    actions = connector.add_subparsers(dest="action", required=True)
    serve = actions.add_parser("serve", help="serve it as an Apollo Federation v2 subgraph")
    serve.add_argument(
        "agency",
        action=arguments.HelpWhenShown,
        describe=lambda: (
            f"{', '.join(c.name for c in connectors.discover())}, or "
            f"{merged.HUB_SUBGRAPH} (the hub's own cross-agency fields)"
        ),
    )
    serve.add_argument("--host")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument(
        "--delegate",
        action="append",
        default=[],
        metavar="CLIENT_ID",
        help="a client (the hub's, another agency service's) that may act for a caller here "
        "with a token exchanged for the caller's; repeatable",
    )
    serve.set_defaults(run=_connector_serve)


def _migrate(settings: HubSettings, args: argparse.Namespace) -> int:
    auth_store = wiring.build_auth_store(settings)
    targets = wiring.migration_targets(
        wiring.build_connectors(settings),
        auth_store,
        wiring.build_audit_store(settings, auth_store),
        wiring.build_alert_store(settings),
        wiring.build_facts_store(settings),
    )
    try:
        if args.new:
            changed = migrate.new_revision(targets, args.new)
            print(f"new revisions for: {', '.join(changed)}" if changed else "no changes")
            return 0
        migrate.upgrade(targets)
    except MigrationRefused as error:
        print(f"hub: {error}", file=sys.stderr)
        return 1
    for target in targets:
        print(f"{target.name:16} {target.database.url.render_as_string(hide_password=True)}")
    if kid := auth_store.ensure_signing_key():
        print(f"created the first signing key {kid}")
    if sealed := auth_store.seal_plain_keys():
        print(f"sealed {len(sealed)} signing key(s) stored in the clear: {' '.join(sealed)}")
    return 0


def _write_private_json(path: Path, content: object) -> None:
    """Readable by the owner only, from the first byte (written beside, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(content, ensure_ascii=False, indent=2) + "\n"
    key_files.write_private(path, text.encode("utf-8"), replace=True)


def _seed(settings: HubSettings, args: argparse.Namespace) -> int:
    """Synthetic data, into empty databases only; never in production without --force,
    and never the demo clients there (`hub clients add` registers real agencies)."""
    production = settings.env == "production"
    if production and not args.force:
        print(
            "hub: HUB_ENV=production: hub seed loads a synthetic world and demo clients, so it"
            " is refused here; register the real agencies with `hub clients add` (see"
            " docs/operations.md). --force loads the synthetic data anyway, never the demo"
            " clients",
            file=sys.stderr,
        )
        return 1
    connectors = wiring.local_connectors(wiring.build_connectors(settings))
    occupied = seeding.has_data(connectors)
    if occupied and not (args.if_empty or args.replace):
        print(
            f"hub: the databases hold data ({', '.join(occupied[:3])}"
            f"{', …' if len(occupied) > 3 else ''}); hub seed fills empty databases only."
            " --replace deletes every agency's rows first; --if-empty leaves them as they are",
            file=sys.stderr,
        )
        return 1
    if not production:
        secrets = demo.register_demo_clients(wiring.build_auth_store(settings))
        secrets_file = settings.data_dir / DEMO_CLIENTS_FILE
        _write_private_json(secrets_file, secrets)
        print(f"demo clients: {', '.join(secrets)}; their secrets are in {secrets_file}")
    if occupied and args.if_empty and not args.replace:
        print("already seeded; leaving the data as it is")
        return 0
    report = seeding.seed(
        connectors,
        args.scale,
        args.seed,
        through_month=date.fromisoformat(f"{args.through}-01"),
        replace=bool(occupied),
    )
    print(report)
    started = time.perf_counter()
    changes = facts.refresh_now(wiring.build_facts_store(settings), connectors, full=True)
    print(f"warning facts: {len(changes)} levels in {time.perf_counter() - started:.1f} s")
    return 0


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _limits(given: list[str]) -> dict[str, tuple[str, ...]]:
    """`--limit regions=4101,4102 --limit bank=中国建设银行` as a grant's row limits."""
    limits: dict[str, tuple[str, ...]] = {}
    for text in given:
        name, _, values = text.partition("=")
        limits[name.strip()] = limits.get(name.strip(), ()) + tuple(
            v.strip() for v in values.replace("，", ",").split(",") if v.strip()
        )
    return limits


def _clients_add(settings: HubSettings, args: argparse.Namespace) -> int:
    given = [*args.limit, *(f"regions={codes}" for codes in args.regions)]
    grant = auth_stores.Grant(
        agency=args.agency,
        title=args.title or "",
        scopes=_words(args.scopes),
        purposes=_words(args.purposes),
        limits=_limits(given),
    )
    secret = wiring.build_auth_store(settings).add_client(args.client_id, grant)
    _print_secret(args.client_id, secret)
    return 0


def _print_secret(client_id: str, secret: str) -> None:
    print(f"client_id      {client_id}")
    print(f"client_secret  {secret}")
    print("The secret is shown this once and stored only as a hash: keep it now.")


def _clients_list(settings: HubSettings, args: argparse.Namespace) -> int:
    for client in wiring.build_auth_store(settings).clients():
        status = f"revoked {client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked_at else "active"
        print(f"{client.client_id}  {client.agency}  {status}  {client.title}")
        print(f"    scopes    {' '.join(client.scopes)}")
        print(f"    purposes  {' '.join(client.purposes)}")
        limits = "; ".join(f"{name} {' '.join(values)}" for name, values in client.limits)
        print(f"    limits    {limits or 'none'}")
        print(f"    secret    set {client.secret_rotated_at:%Y-%m-%d %H:%M} UTC")
    return 0


def _clients_revoke(settings: HubSettings, args: argparse.Namespace) -> int:
    wiring.build_auth_store(settings).revoke(args.client_id)
    print(f"revoked {args.client_id}: new tokens are refused now, issued ones within seconds")
    return 0


def _clients_rotate_secret(settings: HubSettings, args: argparse.Namespace) -> int:
    secret = wiring.build_auth_store(settings).rotate_secret(args.client_id)
    _print_secret(args.client_id, secret)
    return 0


def _keys_rotate(settings: HubSettings, args: argparse.Namespace) -> int:
    kid = wiring.build_auth_store(settings).add_signing_key()
    print(f"new signing key {kid}: it signs new tokens; older keys stay in the JWKS")
    return 0


def _keys_list(settings: HubSettings, args: argparse.Namespace) -> int:
    keys = wiring.build_auth_store(settings).signing_keys()
    active = [key.kid for key in keys if key.retired_at is None]
    for key in keys:
        if key.retired_at:
            status = f"retired {key.retired_at:%Y-%m-%d %H:%M}"
        else:
            status = "signing" if key.kid == active[-1] else "verifying"
        print(f"{key.kid}  {key.algorithm}  created {key.created_at:%Y-%m-%d %H:%M}  {status}")
    return 0


def _keys_new_kek(settings: HubSettings, args: argparse.Namespace) -> int:
    if not sealing.create_kek_file(args.path):
        print(f"hub: {args.path} exists: not replaced", file=sys.stderr)
        return 1
    print(f"created {args.path} (0600): give every hub process this file as HUB_TOKEN_KEK_FILE")
    return 0


def _keys_retire(settings: HubSettings, args: argparse.Namespace) -> int:
    wiring.build_auth_store(settings).retire_key(args.kid)
    print(f"retired {args.kid}: tokens it signed are refused within a minute")
    return 0


def _documents_add(settings: HubSettings, args: argparse.Namespace) -> int:
    """Only a document valid against today's graph is registered: a typo found now is
    not an operation that fails in production later."""
    document = Path(args.file).read_text(encoding="utf-8")
    try:
        problems = graphql.validate(hub_graph.hub_schema()._schema, graphql.parse(document))
    except graphql.GraphQLError as error:
        problems = [error]
    if problems:
        for problem in problems:
            print(f"hub: {args.file}: {problem.message}", file=sys.stderr)
        return 1
    digest = documents.DocumentStore(settings.documents_dir).add(document)
    print(f"{digest} {args.file}")
    return 0


def _add_documents_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    documents = commands.add_parser("documents", help="trusted documents (persisted queries)")
    actions = documents.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register an operation; print its SHA-256")
    add.add_argument("file", help="a file holding one GraphQL document")
    add.set_defaults(run=_documents_add)


def _add_clients_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clients = commands.add_parser("clients", help="agencies' OAuth2 clients")
    actions = clients.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="register a client and print its secret once")
    add.add_argument("client_id")
    add.add_argument("--agency", required=True)
    add.add_argument("--scopes", required=True, help="space-separated, e.g. 'wage:read'")
    add.add_argument("--purposes", required=True, help="space-separated purpose codes")
    add.add_argument(
        "--limit",
        action=arguments.AppendHelpWhenShown,
        default=[],
        metavar="KIND=VALUE[,VALUE]",
        describe=lambda: (
            "a row limit, repeatable; none: every row its scopes allow. Kinds: "
            + "; ".join(f"{k.name}: {k.description}" for k in jurisdiction.RULES.kinds.values())
        ),
    )
    add.add_argument(
        "--regions",
        action="append",
        default=[],
        metavar="CODE[,CODE]",
        help="as --limit regions=…: GB/T 2260 code prefixes the hub knows (41, 4101, 410183)",
    )
    add.add_argument("--title", help="the agency's full name")
    add.set_defaults(run=_clients_add)

    actions.add_parser("list", help="every client and its grant (no secrets)").set_defaults(
        run=_clients_list
    )
    for name, run, text in (
        ("revoke", _clients_revoke, "refuse the client's tokens from now on"),
        ("rotate-secret", _clients_rotate_secret, "replace the secret; print the new one once"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("client_id")
        action.set_defaults(run=run)


def _add_keys_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="the hub's token signing keys")
    actions = keys.add_subparsers(dest="action", required=True)
    actions.add_parser("rotate", help="add a key that signs new tokens").set_defaults(
        run=_keys_rotate
    )
    actions.add_parser("list", help="every key, oldest first").set_defaults(run=_keys_list)
    retire = actions.add_parser("retire", help="remove a key from the JWKS")
    retire.add_argument("kid")
    retire.set_defaults(run=_keys_retire)
    kek = actions.add_parser(
        "new-kek", help="create a key-encryption key file that seals the signing keys"
    )
    kek.add_argument("path", type=Path)
    kek.set_defaults(run=_keys_new_kek)


def _audit_log(settings: HubSettings) -> operations.AuditLog:
    return operations.AuditLog(wiring.audit_database(settings), wiring.audit_trust(settings))


def _audit_verify(settings: HubSettings, args: argparse.Namespace) -> int:
    log = _audit_log(settings)
    if args.archive:
        report = operations.verify_archive(args.archive, log.trust)
    else:
        views = None
        if not args.offline:  # asked first: an honest log then holds all they saw
            views = asyncio.run(
                operations.witness_views(
                    wiring.witness_endpoints(settings),
                    settings.audit.origin,
                    settings.audit.witness_timeout_seconds,
                )
            )
        report = log.verify(views)
    print(report.summary())
    return report.exit_code


def _audit_checkpoint(settings: HubSettings, args: argparse.Namespace) -> int:
    note = _audit_log(settings).checkpoint(wiring.load_checkpoint_signer(settings, create=False))
    print(f"signed checkpoint {note.text.split(chr(10))[1]}" if note else "nothing new to sign")
    return 0


def _audit_cosign(settings: HubSettings, args: argparse.Namespace) -> int:
    """One cosigning round now (the hub runs them by itself; this is for after an outage)."""
    endpoints = wiring.witness_endpoints(settings)
    if not endpoints:
        print("hub: no witnesses are configured (HUB_AUDIT_WITNESSES)", file=sys.stderr)
        return 2
    cosigner = cosigning.Cosigner(
        wiring.audit_database(settings),
        endpoints,
        timeout_seconds=settings.audit.witness_timeout_seconds,
    )

    async def round_() -> dict[str, str]:
        try:
            return await cosigner.run_once(now=True)
        finally:
            await cosigner.close()

    outcomes = asyncio.run(round_())
    for name, outcome in outcomes.items():
        print(f"{name}: {outcome}")
    return 0 if all(not o.startswith("failed") for o in outcomes.values()) else 2


def _audit_witnesses(settings: HubSettings, args: argparse.Namespace) -> int:
    for state in _audit_log(settings).witness_states():
        size = "not yet" if state.size is None else state.size
        print(f"{state.name}  {state.url}  cosigned {size}")
        if state.last_error:
            print(f"    last error  {state.last_error}")
            print(f"    retry at    {state.retry_at:%Y-%m-%d %H:%M:%S} UTC")
    return 0


def _audit_export(settings: HubSettings, args: argparse.Namespace) -> int:
    log = _audit_log(settings)
    since, until = _day(args.since), _day(args.until)
    if args.out:
        with args.out.open("w", encoding="utf-8") as out:
            written = log.export(out, since, until)
    else:
        written = log.export(sys.stdout, since, until)
    print(f"exported {written} records", file=sys.stderr)
    return 0


def _audit_archive(settings: HubSettings, args: argparse.Namespace) -> int:
    before = _day(args.before)
    assert before is not None
    try:
        report = _audit_log(settings).archive(before, args.out)
    except operations.ArchiveRefused as error:
        print(f"hub: {error}", file=sys.stderr)
        return 2
    print(f"archived {report.records} records ({report.first_seq}–{report.last_seq}) to {args.out}")
    return 0


def _audit_keys_create(settings: HubSettings, args: argparse.Namespace) -> int:
    path = wiring.checkpoint_key_path(settings)
    key_files.create_key_file(path, settings.audit.passphrase())
    signer = wiring.load_checkpoint_signer(settings, create=False)
    print(f"created {path}; give witnesses and verifiers its key:\n{signer.verifier().vkey()}")
    return 0


def _audit_keys_vkey(settings: HubSettings, args: argparse.Namespace) -> int:
    print(wiring.load_checkpoint_signer(settings, create=False).verifier().vkey())
    return 0


def _audit_keys_encrypt(settings: HubSettings, args: argparse.Namespace) -> int:
    """Re-writes the key file encrypted with the configured passphrase (it was plain)."""
    passphrase = settings.audit.passphrase()
    if passphrase is None:
        print("hub: set HUB_AUDIT_KEY_PASSPHRASE or HUB_AUDIT_KEY_PASSPHRASE_FILE", file=sys.stderr)
        return 1
    path = wiring.checkpoint_key_path(settings)
    key_files.write_key_file(path, key_files.load_key_file(path), passphrase, replace=True)
    print(f"{path} is encrypted now; every hub process needs the passphrase to start")
    return 0


def _witness_serve(settings: HubSettings, args: argparse.Namespace) -> int:
    witness = wiring.build_witness(settings)
    print(f"witness {witness.signer.verifier().vkey()}", flush=True)
    serving.run(
        serving.server_config(
            witness_app.create_witness_app(witness),
            settings.limits,
            host=args.host or settings.host,
            port=args.port,
        )
    )
    return 0


def _witness_vkey(settings: HubSettings, args: argparse.Namespace) -> int:
    print(wiring.build_witness(settings).signer.verifier().vkey())
    return 0


def _day(text: str | None) -> datetime | None:
    """A date (midnight UTC) or a full ISO time."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _add_audit_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="the tamper-evident audit log")
    actions = audit.add_subparsers(dest="action", required=True)
    verify = actions.add_parser(
        "verify",
        help="check the log against its checkpoints and witnesses: exit 0 OK, "
        "1 tampered, 2 incomplete",
    )
    verify.add_argument("--archive", type=Path, help="verify an archive file instead")
    verify.add_argument(
        "--offline",
        action="store_true",
        help="do not ask the witnesses (records removed at the end cannot be ruled out)",
    )
    verify.set_defaults(run=_audit_verify)
    actions.add_parser("checkpoint", help="sign the tree head now").set_defaults(
        run=_audit_checkpoint
    )
    actions.add_parser(
        "cosign", help="offer the newest checkpoint to the witnesses now"
    ).set_defaults(run=_audit_cosign)
    actions.add_parser("witnesses", help="how far each witness has cosigned").set_defaults(
        run=_audit_witnesses
    )
    export = actions.add_parser("export", help="records as JSON Lines")
    export.add_argument("--from", dest="since", metavar="DATE")
    export.add_argument("--to", dest="until", metavar="DATE")
    export.add_argument("--out", type=Path, help="a file instead of standard output")
    export.set_defaults(run=_audit_export)
    archive = actions.add_parser(
        "archive", help="move records before DATE to a self-verifying file"
    )
    archive.add_argument("--before", required=True, metavar="DATE")
    archive.add_argument("--out", required=True, type=Path)
    archive.set_defaults(run=_audit_archive)
    keys = actions.add_parser("keys", help="the log's checkpoint key")
    key_actions = keys.add_subparsers(dest="key_action", required=True)
    for name, run, text in (
        ("create", _audit_keys_create, "create the key file (encrypted if a passphrase is set)"),
        ("vkey", _audit_keys_vkey, "print its verifier key, for witnesses and verifiers"),
        ("encrypt", _audit_keys_encrypt, "re-write the key file encrypted with the passphrase"),
    ):
        key_actions.add_parser(name, help=text).set_defaults(run=run)


def _add_witness_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    witness = commands.add_parser(
        "witness", help="a witness for another party's audit log (HUB_WITNESS_*)"
    )
    actions = witness.add_subparsers(dest="action", required=True)
    serve = actions.add_parser("serve", help="serve c2sp.org/tlog-witness over HTTP")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int, required=True)
    serve.set_defaults(run=_witness_serve)
    actions.add_parser("vkey", help="print its cosigning verifier key").set_defaults(
        run=_witness_vkey
    )


@functools.cache
def parser() -> argparse.ArgumentParser:
    """The command line's parser, built once a process: parsing leaves it as it was, and
    building it (a few hundred options) took 14 ms, for every `main` a process calls
    (the test suite's in-process commands: hundreds)."""
    top = argparse.ArgumentParser(prog="hub", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    top.add_argument(
        "--env-file",
        type=Path,
        help="read HUB_* settings from this file first (`hub init` writes one); the "
        "environment's own win",
    )
    serve = commands.add_parser("serve", help="serve GraphQL (and GraphiQL) over HTTP")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="processes (HUB_WORKERS, default 1)")
    serve.set_defaults(run=_serve)

    check = commands.add_parser(
        "check", help="validate the configuration before serving; print each problem and its fix"
    )
    check.set_defaults(run=_check)

    init = commands.add_parser(
        "init", help="create a production configuration, keys and the first admin client"
    )
    init.add_argument("--config-dir", type=Path, default=Path("/etc/wage-hub"))
    init.add_argument("--data-dir", type=Path, default=Path("/var/lib/wage-hub"))
    init.add_argument("--issuer", required=True, help="https URL agencies reach the hub at")
    init.add_argument("--origin", help="the audit log's name (default: <issuer host>/audit)")
    init.add_argument(
        "--postgres", metavar="URL", help="PostgreSQL server URL: one database per store there"
    )
    init.add_argument("--database-prefix", default="wagehub")
    init.add_argument(
        "--create-databases", action="store_true", help="create missing databases (CREATEDB)"
    )
    init.add_argument("--redis-url", help="Redis for the rate-limit buckets of several processes")
    init.add_argument("--host", default="127.0.0.1", help="address each replica binds")
    init.add_argument("--port", type=int, default=8000, help="port of the first replica")
    init.add_argument("--replicas", type=int, default=1)
    init.add_argument("--workers", type=int, default=1)
    init.add_argument("--admin-client", default="hub-admin")
    init.set_defaults(run=_init)

    migration = commands.add_parser("migrate", help="apply migrations to every agency database")
    migration.add_argument("--new", metavar="MESSAGE", help="autogenerate a new revision instead")
    migration.set_defaults(run=_migrate)

    seed = commands.add_parser("seed", help="load deterministic synthetic data")
    seed.add_argument("--scale", choices=["demo", "small", "medium", "large"], default="demo")
    seed.add_argument("--seed", type=int, default=42)
    seed.add_argument("--through", default="2026-10", help="last month with attendance (YYYY-MM)")
    seed.add_argument("--if-empty", action="store_true", help="do nothing if data is present")
    seed.add_argument(
        "--replace", action="store_true", help="delete every agency's rows first (not --if-empty)"
    )
    seed.add_argument(
        "--force",
        action="store_true",
        help="with HUB_ENV=production: load the synthetic data anyway (no demo clients)",
    )
    seed.set_defaults(run=_seed)

    data_commands.add_parsers(commands)
    national_commands.add_parser(commands)
    warnings_cli.add_parsers(commands)
    facts.add_parsers(commands)
    _add_connector_parser(commands)
    _add_clients_parser(commands)
    _add_keys_parser(commands)
    _add_documents_parser(commands)
    _add_audit_parser(commands)
    _add_witness_parser(commands)
    add_users_parser(commands)
    add_desk_parser(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)  # `--help` and a usage error end here
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        handlers=[telemetry.CurrentStderr()],
    )
    try:
        if args.env_file:
            provision.load_env_file(args.env_file)
        settings = hub_settings.HubSettings()
        if settings.json_logs:
            logging.config.dictConfig(telemetry.log_config(json_lines=True))
        return int(args.run(settings, args))
    except checks.CONFIGURATION_ERRORS as error:
        for line in checks.configuration_lines(error):
            print(f"hub: {line}", file=sys.stderr)
        return 1
    except sqlalchemy_errors.OperationalError as error:
        print(f"hub: a database cannot be reached: {checks.short_error(error)}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"hub: {error.strerror or error}: {error.filename or ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
