"""WorkerAttendance.Add adds the call's days to the months already held, read in queries
of `HELD_AT_ONCE` workers: a call may hold more workers than a statement takes
parameters (here one worker a query, so that a call of three needs three)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert

from connectors.housing import national, tables
from hub_support import PROJECT, WORKERS, make_stores


def test_the_months_held_are_read_for_every_worker_of_the_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores = make_stores("sqlite", tmp_path, "held_at_once")
    database = stores.connectors["housing"].database
    engine = database.sync_engine()
    held = {WORKERS[0]: 0b1, WORKERS[1]: 0b10}  # day 1, day 2 of September; WORKERS[2] none
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(tables.ATTENDANCE.table),
                [
                    {"worker_id_number": worker, "project_code": PROJECT,
                     "month": date(2026, 9, 1), "days_present": 1, "day_mask": mask}
                    for worker, mask in held.items()
                ],
            )  # fmt: skip
    finally:
        engine.dispose()
    monkeypatch.setattr(national, "HELD_AT_ONCE", 1)
    items = [
        {"idCardType": "01", "idCardNumber": worker, "direction": "01",
         "date": "2026-09-03 08:00:00"}
        for worker in WORKERS[:3]
    ]  # fmt: skip
    try:
        conversion = national._attendance(items, {"projectCode": PROJECT}, database)
    finally:
        asyncio.run(database.dispose())
    assert conversion.problems == []
    days = tables.ATTENDANCE_SPEC.columns[3].kind
    masks = {row["worker_id_number"]: row["day_mask"] for row in conversion.parts[0].rows}
    assert masks == {
        WORKERS[0]: days.to_json(0b101),
        WORKERS[1]: days.to_json(0b110),
        WORKERS[2]: days.to_json(0b100),
    }
