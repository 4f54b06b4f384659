"""The 0002 revisions (batches, provenance, natural keys) upgrade databases that already
hold rows: a disbursement becomes its own payroll month's, a case party gets its key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import backend_settings
from connectors.base import Connector
from hub.wiring import build_connectors
from storage import migrate

BANK_0001 = "6991f05dad4f"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_rows_from_before_are_carried_over(backend: str, tmp_path: Path) -> None:
    settings = backend_settings(backend, tmp_path, "ingest_migrations")
    connectors = {c.name: c for c in build_connectors(settings)}
    bank, court = connectors["bank"], connectors["court"]
    court_0001 = _first_revision(court.migrations)
    migrate.upgrade([bank], BANK_0001)
    migrate.upgrade([court], court_0001)
    _run(
        bank,
        "INSERT INTO bank_disbursement (account_no, project_code, worker_id_number, card_no,"
        " period, paid_on, amount_fen, status) VALUES ('41410183202503171901', 'P1',"
        " '341226196603139011', '6217000000990000006', '2026-09-01', '2026-10-10', 700000,"
        " 'paid')",
    )
    _run(
        court,
        "INSERT INTO court_case_party (case_number, role, name, id_number, uscc) VALUES"
        " ('（2024）豫0183民初356号', 'plaintiff', '张三', '341226196603139011', NULL),"
        " ('（2024）豫0183民初356号', 'third_party', '李四', NULL, NULL)",
    )
    migrate.upgrade([bank, court])
    [(pay_month, period, back)] = _run(
        bank, "SELECT pay_month, period, is_back_pay FROM bank_disbursement"
    )
    assert (str(pay_month), str(period), bool(back)) == ("2026-09-01", "2026-09-01", False)
    assert _run(court, "SELECT party_key FROM court_case_party ORDER BY id") == [
        ("341226196603139011",),
        ("李四",),
    ]
    assert migrate.drift(bank) == migrate.drift(court) == []


def _first_revision(directory: Path) -> str:
    source = next(directory.glob("0001_*.py")).read_text(encoding="utf-8")
    return source.split('revision: str = "', 1)[1].split('"', 1)[0]


def _run(connector: Connector, sql: str) -> list[tuple[object, ...]]:
    engine = connector.database.sync_engine()
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()
