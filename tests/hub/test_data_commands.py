"""`hub import` / `hub export` and the guards on `hub seed`, as an operator meets them
(SQLite in a temporary data directory): one line that says what happened, never a
traceback; production and occupied databases are not seeded by accident; production
gets real clients from `hub clients add`, never the demo ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.bank.tables import ACCOUNTS, DISBURSEMENTS
from hub.cli import DEMO_CLIENTS_FILE, main
from hub.settings import HubSettings
from hub.wiring import build_auth_store
from hub_support import WORKERS, account_row, pay_row, write


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_says_what_happened_in_one_line(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = write(tmp_path / "accounts.xlsx", ACCOUNTS.spec, [account_row()])
    code, out, err = _run(capsys, "import", "bank", "accounts", str(accounts))
    assert (code, err) == (0, "")
    assert out.startswith("bank.accounts: batch 1 applied: 1 inserted, 0 updated, 0 unchanged")

    payroll = write(
        tmp_path / "payroll.csv", DISBURSEMENTS.spec, [pay_row(w) for w in WORKERS], "gb18030"
    )
    report = tmp_path / "report.json"
    code, out, _ = _run(
        capsys, "import", "bank", "disbursements", str(payroll), "--report", str(report)
    )
    assert code == 0
    answer = json.loads(report.read_text(encoding="utf-8"))
    assert (answer["inserted"], answer["warnings"]) == (
        5,
        6,
    )  # five workers and the project unknown to housing
    assert answer["issues"][0]["reasonEn"] == "worker not known to housing"

    code, out, _ = _run(capsys, "import", "bank", "disbursements", str(payroll), "--dry-run")
    assert (code, out.splitlines()[0]) == (
        0,
        "bank.disbursements: dry run, nothing changed; would have: 0 inserted, 0 updated,"
        " 5 unchanged (5 rows read, 5 valid, 0 errors, 6 warnings)",
    )


def test_a_refused_import_exits_1_and_lists_the_problems(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "payroll.csv"
    write(path, DISBURSEMENTS.spec, [pay_row()])
    path.write_text(
        path.read_text(encoding="utf-8-sig").replace("7000.00", "7000.001"), encoding="utf-8"
    )
    code, out, err = _run(capsys, "import", "bank", "disbursements", str(path))
    assert code == 1
    assert "refused, nothing changed" in out
    assert "row 2, 实发金额: '7000.001' '7000.001' has more than two decimals" in out
    assert "Traceback" not in out + err


def test_accept_valid_writes_the_rejects_beside_the_file(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "a.csv", ACCOUNTS.spec, [account_row()])
    assert _run(capsys, "import", "bank", "accounts", str(tmp_path / "a.csv"))[0] == 0
    path = write(tmp_path / "payroll.csv", DISBURSEMENTS.spec, [pay_row(w) for w in WORKERS[:2]])
    path.write_text(
        path.read_text(encoding="utf-8-sig").replace("已发放", "已入账", 1), encoding="utf-8"
    )
    code, out, _ = _run(capsys, "import", "bank", "disbursements", str(path), "--accept-valid")
    assert code == 0
    assert "1 inserted" in out
    assert f"rejected rows, to fix and send again: {tmp_path / 'payroll.rejects.csv'}" in out
    assert "已入账" in (tmp_path / "payroll.rejects.csv").read_text(encoding="utf-8-sig")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("import", "bank", "salaries", "{file}"), "bank has no importable table 'salaries'"),
        (("import", "tax", "returns", "{file}"), "no agency 'tax' takes imports here"),
        (("import", "bank", "accounts", "{missing}"), "no such file"),
        (("import", "bank", "accounts", "{file}", "--encoding", "klingon"), "unknown encoding"),
        (("export", "bank", "salaries"), "bank has no importable table 'salaries'"),
    ],
)
def test_mistakes_get_one_line_and_no_traceback(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    message: str,
) -> None:
    file = write(tmp_path / "a.csv", ACCOUNTS.spec, [account_row()])
    arguments = [a.format(file=file, missing=tmp_path / "gone.csv") for a in argv]
    code, out, err = _run(capsys, *arguments)
    assert code == 1
    assert message in out + err
    assert "Traceback" not in out + err


def test_export_writes_what_import_reads(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "a.csv", ACCOUNTS.spec, [account_row()])
    assert _run(capsys, "import", "bank", "accounts", str(tmp_path / "a.csv"))[0] == 0
    out_path = tmp_path / "out.csv"
    code, _, err = _run(
        capsys, "export", "bank", "accounts", "--encoding", "gbk", "--out", str(out_path)
    )
    assert (code, err.strip()) == (0, "exported 1 rows of bank.accounts")
    assert "专户账号" in out_path.read_bytes().decode("gb18030")
    assert (
        "0 inserted, 0 updated, 1 unchanged"
        in _run(capsys, "import", "bank", "accounts", str(out_path))[1]
    )


def test_seed_refuses_databases_that_hold_data(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "a.csv", ACCOUNTS.spec, [account_row()])
    assert _run(capsys, "import", "bank", "accounts", str(tmp_path / "a.csv"))[0] == 0
    code, _, err = _run(capsys, "seed")
    assert code == 1
    assert "hub seed fills empty databases only" in err
    assert not (data_dir / DEMO_CLIENTS_FILE).exists()  # refused before anything was done
    assert _run(capsys, "seed", "--replace")[0] == 0


def test_production_is_never_seeded_by_accident_nor_given_demo_clients(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_ENV", "production")
    monkeypatch.setenv("HUB_AUDIT_HASH_KEY", "k" * 32)
    monkeypatch.setenv("HUB_TOKEN_KEK_FILE", str(data_dir / "keys" / "token.kek"))  # migrate's
    code, _, err = _run(capsys, "seed")
    assert code == 1
    assert "HUB_ENV=production" in err
    assert _run(capsys, "seed", "--force")[0] == 0
    assert build_auth_store(HubSettings()).clients() == []
    assert not (data_dir / DEMO_CLIENTS_FILE).exists()

    code, out, _ = _run(
        capsys,
        *("clients", "add", "bank-ccb-payroll", "--agency", "bank"),
        *("--scopes", "ingest:bank", "--purposes", "data-submission"),
    )
    assert code == 0
    assert "client_secret" in out
