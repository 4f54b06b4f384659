"""`hub clients …`, `hub keys …`, and the demo clients `hub seed` registers, against a
temporary data directory (SQLite)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from auth.sealing import KeySealer
from auth.store import _new_key_row
from hub.cli import DEMO_CLIENTS_FILE, main
from hub.demo import DEMO_GRANTS
from hub.settings import HubSettings
from hub.wiring import build_auth_store


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _secret(out: str) -> str:
    return next(line.split()[1] for line in out.splitlines() if line.startswith("client_secret"))


def test_migrate_creates_the_first_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    code, out, _ = _run(capsys, "migrate")
    assert code == 0
    assert "created the first signing key" in out
    code, out, _ = _run(capsys, "keys", "list")
    assert code == 0
    assert out.count("signing") == 1
    assert "Ed25519" in out
    _, again, _ = _run(capsys, "migrate")
    assert "created the first signing key" not in again


def test_a_client_is_added_listed_rotated_and_revoked(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys,
        *("clients", "add", "bank-icbc", "--agency", "bank"),
        *("--scopes", "wage:read bank:account", "--purposes", "payroll-reconciliation"),
        *("--limit", "regions=320100,320200", "--limit", "courts=豫0183"),
        *("--limit", "bank=中国工商银行", "--title", "中国工商银行南京分行"),
    )
    assert code == 0
    secret = _secret(out)
    store = build_auth_store(HubSettings())
    client = store.get_client("bank-icbc")
    assert client is not None
    assert client.check_secret(secret)
    assert (client.scopes, client.limits) == (
        ("wage:read", "bank:account"),
        (("bank", ("中国工商银行",)), ("courts", ("豫0183",)), ("regions", ("320100", "320200"))),
    )

    _, listing, _ = _run(capsys, "clients", "list")
    assert "bank-icbc  bank  active  中国工商银行南京分行" in listing
    assert "bank 中国工商银行; courts 豫0183; regions 320100 320200" in listing
    assert secret not in listing
    assert client.secret_hash not in listing

    _, rotated_out, _ = _run(capsys, "clients", "rotate-secret", "bank-icbc")
    rotated = _secret(rotated_out)
    client = store.get_client("bank-icbc")
    assert client is not None
    assert client.check_secret(rotated)
    assert not client.check_secret(secret)

    assert _run(capsys, "clients", "revoke", "bank-icbc")[0] == 0
    assert "revoked" in _run(capsys, "clients", "list")[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("clients", "add", "x", "--agency", "hr", "--scopes", "salary:read", "--purposes", "p"),
         "unknown scopes ['salary:read']"),
        (("clients", "add", "x y", "--agency", "hr", "--scopes", "wage:read", "--purposes", "p"),
         "client id 'x y' is malformed"),
        (("clients", "add", "x", "--agency", "hr", "--scopes", "wage:read", "--purposes", "p",
          "--limit", "regions=Nanjing"), "region 'Nanjing': a GB/T 2260 code prefix"),
        (("clients", "add", "x", "--agency", "hr", "--scopes", "wage:read", "--purposes", "p",
          "--limit", "regions=9999"), "region '9999': not a GB/T 2260 code the hub knows"),
        (("clients", "add", "x", "--agency", "hr", "--scopes", "wage:read", "--purposes", "p",
          "--limit", "courts=Zhengzhou"), "court 'Zhengzhou': expected a province abbreviation"),
        (("clients", "add", "x", "--agency", "hr", "--scopes", "wage:read", "--purposes", "p",
          "--limit", "fund=1"), "no row limit 'fund'; known: bank, courts, regions"),
        (("clients", "revoke", "nobody"), "no client 'nobody'"),
        (("clients", "rotate-secret", "nobody"), "no client 'nobody'"),
        (("keys", "retire", "nope"), "no active signing key 'nope'"),
    ],
    ids=["unknown scope", "bad client id", "bad region", "unknown region", "bad court",
         "unknown limit", "revoke unknown", "rotate unknown", "retire unknown"],
)  # fmt: skip
def test_a_refused_change_is_an_error_message_not_a_traceback(
    data_dir: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == 1
    assert message in err


def test_an_existing_client_cannot_be_added_again(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ("clients", "add", "twice", "--agency", "hr", "--scopes", "wage:read")
    assert _run(capsys, *add, "--purposes", "p")[0] == 0
    code, out, err = _run(capsys, *add, "--purposes", "p")
    assert (code, out) == (1, "")
    assert "exists already" in err


def test_keys_rotate_and_retire(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _run(capsys, "keys", "list")[1].split()[0]
    _, out, _ = _run(capsys, "keys", "rotate")
    second = out.split()[3].rstrip(":")
    listing = _run(capsys, "keys", "list")[1]
    assert f"{first}  Ed25519" in listing
    assert "verifying" in listing
    assert listing.splitlines()[-1].startswith(second)
    assert listing.rstrip().endswith("signing")

    code, _, err = _run(capsys, "keys", "retire", second)
    assert code == 1
    assert "rotate first" in err  # the newest key signs: it cannot go
    assert _run(capsys, "keys", "retire", first)[0] == 0
    assert "retired" in _run(capsys, "keys", "list")[1].splitlines()[0]


def test_seed_registers_the_demo_clients_and_writes_their_secrets_privately(
    data_dir: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    code, out, _ = _run(capsys, "seed", "--scale", "demo")
    assert code == 0
    path = data_dir / DEMO_CLIENTS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secrets = json.loads(path.read_text(encoding="utf-8"))
    assert set(secrets) == {grant.client_id for grant in DEMO_GRANTS}

    store = build_auth_store(HubSettings())
    for grant in DEMO_GRANTS:
        client = store.get_client(grant.client_id)
        assert client is not None
        assert client.check_secret(secrets[grant.client_id])
        assert (client.scopes, client.purposes, dict(client.limits)) == (
            grant.scopes,
            grant.purposes,
            grant.limits,
        )
    for secret in secrets.values():
        assert secret not in out
        assert secret not in caplog.text

    _, again, _ = _run(capsys, "seed", "--scale", "demo", "--if-empty")
    assert "already seeded" in again
    rotated = json.loads(path.read_text(encoding="utf-8"))
    assert set(rotated) == set(secrets)
    assert all(rotated[name] != secrets[name] for name in secrets)  # the file is always right
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    hr = store.get_client("hr-bureau-xinmi")
    assert hr is not None
    assert hr.check_secret(rotated["hr-bureau-xinmi"])


def test_no_kid_reads_as_an_option() -> None:
    """One thumbprint in 64 starts with '-'; 300 keys all but surely meet one."""
    sealer = KeySealer(bytes(32))
    assert not any(_new_key_row(sealer)["kid"].startswith("-") for _ in range(300))
