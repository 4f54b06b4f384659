"""`hub national …` as an operator meets it (SQLite data directory): a submitter is issued
an appid and an appsecret shown once and kept sealed, listed without it, revoked; an
agency that takes no national calls is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from auth.models import NationalSubmitter
from auth.national import NationalRegistry
from hub.cli import main
from hub.settings import HubSettings
from hub.wiring import build_auth_store


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_submitter_is_issued_listed_and_revoked(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys, "national", "add-submitter", "--agency", "housing", "--title", "某省实名制平台"
    )
    assert code == 0
    appid = re.search(r"^appid\s+(\d{16})$", out, re.MULTILINE)
    secret = re.search(r"^appsecret\s+([0-9a-f]{32})$", out, re.MULTILINE)
    assert appid, out
    assert secret, out
    assert "WorkerAttendance.Add" in out
    assert "Payroll.Add" not in out  # the bank's

    store = build_auth_store(HubSettings())
    engine = store.database.sync_engine()
    try:
        with engine.connect() as connection:
            [sealed] = connection.execute(select(NationalSubmitter.sealed_secret)).scalars()  # type: ignore[call-overload]
    finally:
        engine.dispose()
    assert secret[1] not in sealed  # sealed, not in the clear
    registry = NationalRegistry(store.database, store.sealer)
    try:
        assert registry.submitter_now(appid[1]).secret == secret[1]  # type: ignore[union-attr]
    finally:
        registry.close()

    code, listed, _ = _run(capsys, "national", "list")
    assert code == 0
    assert f"{appid[1]}  housing  active  某省实名制平台" in listed
    assert secret[1] not in listed
    assert _run(capsys, "national", "revoke", appid[1])[0] == 0
    assert "revoked" in _run(capsys, "national", "list")[1]


def test_an_agency_without_national_methods_and_an_unknown_appid_are_refused(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "national", "add-submitter", "--agency", "court")
    assert code == 1
    assert "bank, housing" in err
    code, _, err = _run(capsys, "national", "revoke", "1234")
    assert code == 1
    assert "1234" in err
