"""A case party is known within its case by its ID number, credit code or name."""

from __future__ import annotations

from connectors.court.tables import PARTIES


def test_the_party_key_is_the_strongest_identifier_given() -> None:
    to_db = PARTIES.db_row()
    worker = ("（2024）豫0183民初356号", "plaintiff", "张三", "341226196603139011", None)
    firm = ("（2024）豫0183民初356号", "defendant", "某公司", None, "91410183MACX9KCJ49")
    person = ("（2024）豫0183民初356号", "third_party", "李四", None, None)
    keys = [
        dict(zip(PARTIES.written, to_db(row), strict=True))["party_key"]
        for row in (worker, firm, person)
    ]
    assert keys == ["341226196603139011", "91410183MACX9KCJ49", "李四"]
    stored = dict(zip(PARTIES.written, to_db(worker), strict=True))
    assert PARTIES.typed_row()(stored) == worker
