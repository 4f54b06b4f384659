"""`hub users …` and `hub desk verify-pdf` against a temporary data directory (SQLite)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from conftest import data_dir_copy
from hub.cli import main


@pytest.fixture(scope="module")
def _seeded_data_dir(_migrated_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated directory (conftest), seeded once for the module: `hub seed` took
    each test 0.3-0.5 CPU s, and no test here needs a seeding of its own."""
    made = tmp_path_factory.mktemp("seeded")
    with pytest.MonkeyPatch.context() as patch:
        seeded = data_dir_copy(_migrated_data_dir, made, patch)
        assert main(["seed", "--scale", "demo"]) == 0
    return seeded


@pytest.fixture
def data_dir(_seeded_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HUB_DATA_DIR: a copy of the seeded directory, each test's own."""
    return data_dir_copy(_seeded_data_dir, tmp_path, monkeypatch)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_people_are_added_listed_disabled_reset_and_unlocked(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = _run(
        capsys,
        "users",
        "add",
        "wang.li",
        "--client",
        "mediation-xinmi",
        "--role",
        "clerk",
        "--name",
        "王丽",
    )
    assert code == 0
    password = next(line.split()[1] for line in out.splitlines() if line.startswith("password"))
    assert len(password) == 16
    code, out, _ = _run(capsys, "users", "list", "--client", "mediation-xinmi")
    assert "wang.li  mediation-xinmi  clerk  active" in out
    assert "王丽" in out
    assert _run(capsys, "users", "disable", "wang.li")[0] == 0
    assert "disabled" in _run(capsys, "users", "list")[1]
    monkeypatch.setattr("sys.stdin", io.StringIO("a chosen password of mine\n"))
    code, out, _ = _run(capsys, "users", "reset", "wang.li", "--password-stdin")
    assert code == 0
    assert "a chosen password" not in out
    assert _run(capsys, "users", "unlock", "wang.li")[0] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["users", "add", "x1", "--client", "nobody", "--role", "clerk"], "no client 'nobody'"),
        (
            ["users", "add", "Bad Name", "--client", "mediation-xinmi", "--role", "clerk"],
            "malformed",
        ),
        (
            ["users", "add", "desk1", "--client", "dashboard-zhengzhou", "--role", "service-desk"],
            "gives nothing within client dashboard-zhengzhou's grant",
        ),
        (["users", "disable", "nobody"], "no user 'nobody'"),
    ],
)
def test_refusals_say_why(
    data_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == 1
    assert message in err


def test_a_short_password_is_refused(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = _run(
        capsys,
        "users",
        "add",
        "li.na",
        "--client",
        "mediation-xinmi",
        "--role",
        "clerk",
        "--password-stdin",
    )
    assert code == 1
    assert "at least 12 characters" in err


def test_a_pdf_the_hub_never_produced_is_not_verified(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(
        b"%PDF-1.4\n/Subject (wage-hub audit record 0123456789abcdef0123456789abcdef)\n"
    )
    code, out, _ = _run(capsys, "desk", "verify-pdf", str(forged))
    assert code == 2
    assert "NOT VERIFIED" in out
    assert "0123456789abcdef0123456789abcdef" in out
    code, _, err = _run(capsys, "desk", "verify-pdf", str(tmp_path / "missing.pdf"))
    assert code == 1
    assert "cannot read" in err
