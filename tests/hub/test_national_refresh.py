"""The national runner brings the warning facts up to date once per call, after every
table the call writes and before its answer is stored: a call that writes two tables
(ProjectWorker.Add: the workers and the roster) refreshes once, not once a table."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from national_client import encrypted

from auth.national import DONE, FAILED, NationalRegistry, QueuedCall
from hub.importing import Importer
from hub.national_app import NationalRunner, national_methods
from hub.settings import NationalSettings
from hub_support import CARD, PROJECT, USCC, WORKERS, make_stores
from kernel.identifiers import make_uscc

BUILDER = make_uscc("410183", 8)
LABOUR = make_uscc("410183", 9)


def test_a_call_that_writes_two_tables_refreshes_the_facts_once(tmp_path: Path) -> None:
    stores = make_stores("sqlite", tmp_path, "national_refresh")
    registry = NationalRegistry(stores.auth.database, stores.auth.sealer)
    refreshes: list[str] = []
    current = [""]

    async def refresh() -> None:
        refreshes.append(current[0])

    importer = Importer(list(stores.connectors.values()), refresh_facts=refresh)
    runner = NationalRunner(registry, importer, national_methods(importer), NationalSettings())
    try:
        appid, secret = registry.add_submitter("housing", "某省实名制平台")

        def call(method: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
            current[0] = method
            data_text = json.dumps(encrypted(data, secret), ensure_ascii=False)
            queued = QueuedCall(f"{method}-{len(refreshes)}", appid, method, data_text, 1)
            return runner.process(queued, asyncio.run)

        team_number = _project_with_a_team(call)
        workers = _roster(team_number)
        refreshes.clear()
        state, roster = call("ProjectWorker.Add", workers)
        assert state == DONE, roster
        assert [batch["table"] for batch in roster["batches"]] == [
            "housing.workers",
            "housing.project_workers",
        ]
        assert all(batch["inserted"] for batch in roster["batches"])
        assert refreshes == ["ProjectWorker.Add"]
        state, again = call("ProjectWorker.Add", workers)  # no row changed: no refresh
        assert state == DONE, again
        assert refreshes == ["ProjectWorker.Add"]
    finally:
        registry.close()
        for connector in stores.connectors.values():
            asyncio.run(connector.dispose())


def _project_with_a_team(call: Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]) -> str:
    """The project, its three enterprises and a team, each by its call; the team's number."""
    for code, kind, name in ((USCC, "009", "某建工集团"), (BUILDER, "008", "某置业公司"),
                             (LABOUR, "006", "某劳务公司")):  # fmt: skip
        corp = {"projectCode": PROJECT, "corpCode": code, "corpName": name,
                "corpType": kind, "legalMan": "张三", "creditScore": 90}  # fmt: skip
        assert call("ProjectSubContractor.Add", corp)[0] == DONE
    project = {
        "projectCode": PROJECT, "name": "某安置房项目", "areaCode": "410183",
        "buildCorpCode": BUILDER, "contractorCorpCode": USCC,
        "contractPrice": "12000000.00", "startDate": "2025-03-17",
        "completeDate": "2027-06-30", "prjStatus": "003",
        "rightsNoticeBoard": 1, "paymentGuarantee": 0,
    }  # fmt: skip
    assert call("Project.Add", project)[0] == DONE
    state, team = call(
        "Team.Add",
        {"projectCode": PROJECT, "corpCode": LABOUR, "corpName": "某劳务公司",
         "teamName": "钢筋一班", "responsiblePersonName": "李四",
         "responsiblePersonIDCardType": "01", "responsiblePersonIDNumber": WORKERS[0]},
    )  # fmt: skip
    assert state == DONE, team
    return str(team["rows"][0]["teamSysNo"])


def _roster(team_number: str) -> dict[str, Any]:
    """ProjectWorker.Add's data: two workers into the team (the workers, then the roster)."""
    workers = [
        {"workerName": name, "isTeamLeader": leader, "idCardType": "01",
         "idCardNumber": worker, "workType": "020", "payRollBankCardNumber": CARD}
        for name, leader, worker in (("李四", 1, WORKERS[0]), ("王五", 0, WORKERS[1]))
    ]  # fmt: skip
    return {"projectCode": PROJECT, "corpCode": LABOUR, "teamSysNo": team_number,
            "workerList": workers}  # fmt: skip


def test_calls_run_back_to_back_share_a_refresh_before_their_answers(tmp_path: Path) -> None:
    """A backlog of one submitter's calls: each call is answered only after a refresh
    that began after its imports committed, and the calls share refreshes (fewer than
    one a call); the calls still run one at a time in the order they were accepted."""
    stores = make_stores("sqlite", tmp_path, "national_coalesce")
    registry = NationalRegistry(stores.auth.database, stores.auth.sealer)
    events: list[tuple[str, str]] = []

    async def refresh() -> None:
        events.append(("refresh", ""))

    importer = Importer(list(stores.connectors.values()), refresh_facts=refresh)
    runner = NationalRunner(
        registry, importer, national_methods(importer), NationalSettings(poll_seconds=0.01)
    )
    ran = runner._run_call

    def run_call(call: QueuedCall, submit: Any) -> tuple[str, dict[str, Any], bool]:
        found = ran(call, submit)
        events.append(("ran", call.serial))
        return found

    finish = registry.finish

    def finished(serial: str, state: str, result: dict[str, Any]) -> None:
        events.append(("answered", serial))
        finish(serial, state, result)

    runner._run_call = run_call  # type: ignore[method-assign]
    registry.finish = finished  # type: ignore[method-assign]
    appid, secret = registry.add_submitter("housing", "某省实名制平台")
    calls = [
        ("ProjectSubContractor.Add", {"projectCode": PROJECT, "corpCode": code, "corpName": name,
          "corpType": kind, "legalMan": "张三", "creditScore": 90})
        for code, kind, name in ((USCC, "009", "某建工集团"), (BUILDER, "008", "某置业公司"),
                                 (LABOUR, "006", "某劳务公司"))
    ]  # fmt: skip
    calls.append(
        ("Project.Add", {
            "projectCode": PROJECT, "name": "某安置房项目", "areaCode": "410183",
            "buildCorpCode": BUILDER, "contractorCorpCode": USCC,
            "contractPrice": "12000000.00", "startDate": "2025-03-17",
            "completeDate": "2027-06-30", "prjStatus": "003",
            "rightsNoticeBoard": 1, "paymentGuarantee": 0,
        })
    )  # fmt: skip
    serials = [f"call-{number}" for number in range(len(calls))]

    async def scenario() -> list[tuple[str, dict[str, Any] | None] | None]:
        for serial, (method, data) in zip(serials, calls, strict=True):
            text = json.dumps(encrypted(data, secret), ensure_ascii=False)
            await registry.enqueue(serial, appid, method, text)
        running = asyncio.create_task(runner.run())
        try:
            for _ in range(1000):
                if sum(kind == "answered" for kind, _ in events) == len(calls):
                    break
                await asyncio.sleep(0.01)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        try:
            return [await registry.answer(serial, appid) for serial in serials]
        finally:
            await stores.auth.database.dispose()  # on this loop, which opened its reads

    try:
        answers = asyncio.run(scenario())
    finally:
        registry.close()
        for connector in stores.connectors.values():
            asyncio.run(connector.dispose())
    assert [answer and answer[0] for answer in answers] == [DONE] * len(calls), answers
    assert [serial for kind, serial in events if kind == "ran"] == serials
    for serial in serials:
        ran_at = events.index(("ran", serial))
        answered_at = events.index(("answered", serial))
        assert ("refresh", "") in events[ran_at:answered_at], events
    assert 1 <= events.count(("refresh", "")) < len(calls), events


def test_a_call_that_fails_after_writing_a_table_refreshes_the_facts(tmp_path: Path) -> None:
    """ProjectWorker.Add writes the workers, then the roster; the hub fails on the roster
    (each table is all or nothing, the call is not): the workers stay written, and the
    facts are refreshed for them although the call is not done."""
    stores = make_stores("sqlite", tmp_path, "national_failed")
    registry = NationalRegistry(stores.auth.database, stores.auth.sealer)
    refreshes: list[str] = []

    async def refresh() -> None:
        refreshes.append("refresh")

    importer = Importer(list(stores.connectors.values()), refresh_facts=refresh)
    settings = NationalSettings(poll_seconds=0.01, max_attempts=1)
    runner = NationalRunner(registry, importer, national_methods(importer), settings)
    appid, secret = registry.add_submitter("housing", "某省实名制平台")

    def call(method: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        text = json.dumps(encrypted(data, secret), ensure_ascii=False)
        return runner.process(QueuedCall(method, appid, method, text, 1), asyncio.run)

    imported = runner._import

    def failing_on_the_roster(
        agency: str, part: Any, *args: Any, dry_run: bool, **options: Any
    ) -> Any:
        if part.table == "project_workers" and not dry_run:
            raise OSError("the housing database went away")
        return imported(agency, part, *args, dry_run=dry_run, **options)

    async def scenario(data: dict[str, Any]) -> tuple[str, dict[str, Any] | None] | None:
        text = json.dumps(encrypted(data, secret), ensure_ascii=False)
        await registry.enqueue("roster", appid, "ProjectWorker.Add", text)
        running = asyncio.create_task(runner.run())
        try:
            for _ in range(1000):
                answer = await registry.answer("roster", appid)
                if answer is not None and answer[0] == FAILED:
                    return answer
                await asyncio.sleep(0.01)
            return None
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await stores.auth.database.dispose()

    try:
        roster = _roster(_project_with_a_team(call))
        refreshes.clear()
        runner._import = failing_on_the_roster  # type: ignore[method-assign]
        answer = asyncio.run(scenario(roster))
        assert answer is not None, "not given up after its one attempt"
        written = stores.rows("housing")["housing_worker"]
        assert {worker for worker in WORKERS[:2] if any(worker in row for row in written)} == set(
            WORKERS[:2]
        )  # the workers' table was written before the roster failed
        assert refreshes, "the workers written before the failure are not in the facts"
    finally:
        registry.close()
        for connector in stores.connectors.values():
            asyncio.run(connector.dispose())
