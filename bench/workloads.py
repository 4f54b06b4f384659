"""The workloads: each a GraphQL document, the keys it is asked about (sampled from the
data set with a fixed seed, so every run asks the same questions), and its floor.

- `worker`: look-up by ID number, with the worker's registrations and their projects;
- `dossier`: question 1, the mediation dossier of a dispute case over its disputed months;
- `project`: question 2, a project's workers who attended but were not paid last month;
- `dashboard`: question 3, one district's first page (20) of three-colour warnings;
- `mixed`: the four interleaved, 5 : 2 : 2 : 1.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bench.floor import Floor, day, month
from bench.wire import encode_json

WORKER = """query Worker($id: IdNumber!) {
  worker(idNumber: $id) {
    idNumber name
    registrations { trade entryDate exitDate project { code name } }
  }
}"""

DOSSIER = """query Dossier($case: CaseNumber!, $from: YearMonth!, $to: YearMonth!) {
  disputeCase(caseNumber: $case) {
    caseNumber status cause claimAmountFen disputedMonths
    mediations { committee outcome heldOn }
    parties {
      role name
      worker {
        idNumber name
        contracts { contractNo dailyWageFen }
        attendance(from: $from, to: $to) { month daysPresent }
        disbursements(from: $from, to: $to) { period amountFen status }
        wagePositions(from: $from, to: $to) { month dueFen paidFen arrearsFen status }
      }
      enterprise {
        uscc name blacklisted
        blacklistEntries { decisionNo current }
        creditGrade { grade }
        marketCreditScore
        disputeCases { caseNumber status filedOn }
      }
    }
  }
}"""

PROJECT = """query Unpaid($code: String!, $month: YearMonth!) {
  project(code: $code) {
    name
    wagePositions(month: $month, status: [UNPAID]) {
      daysPresent dueFen paidFen
      worker { idNumber name }
    }
  }
}"""

DASHBOARD = """query Dashboard($month: YearMonth!, $region: RegionCodePrefix!, $first: Int!) {
  projectWarnings(month: $month, regionCodePrefix: $region, first: $first) {
    nodes {
      level
      project { code name }
      measures { measure satisfied detail }
    }
  }
}"""

SUMMARY = """query Summary($month: YearMonth!, $region: RegionCodePrefix!) {
  warningSummary(month: $month, regionCodePrefix: $region) {
    regionCode none blue yellow red noData total
  }
}"""
"""A province's roll-up per district (not a workload: the floor has no counterpart; its
statements, rows read and latency are reported beside the dashboard's)."""

DASHBOARD_PAGE = 20
KEYS_PER_WORKLOAD = 200
WORKLOADS = ("worker", "dossier", "project", "dashboard", "mixed")
MIX = ("worker",) * 5 + ("dossier",) * 2 + ("project",) * 2 + ("dashboard",)


FloorAnswer = Callable[[Floor, dict[str, Any]], Awaitable[dict[str, Any]]]
FLOOR_ANSWERS: dict[str, FloorAnswer] = {
    "worker": lambda floor, v: floor.worker(v["id"]),
    "dossier": lambda floor, v: floor.dossier(v["case"], v["from"], v["to"]),
    "project": lambda floor, v: floor.project_unpaid(v["code"], f"{v['month']}-01"),
    "dashboard": lambda floor, v: floor.dashboard(v["region"], f"{v['month']}-01", v["first"]),
}
"""Each workload's floor, from the same variables the hub is sent."""


@dataclass(frozen=True)
class Call:
    """One request: the GraphQL document and variables; the floor answers it from them."""

    workload: str
    document: str
    variables: dict[str, Any]

    async def floor(self, floor: Floor) -> dict[str, Any]:
        return await FLOOR_ANSWERS[self.workload](floor, self.variables)

    @cached_property
    def graphql_body(self) -> bytes:
        """The hub's request body, encoded once (the load client sends it many times)."""
        return encode_json({"query": self.document, "variables": self.variables})

    @cached_property
    def floor_body(self) -> bytes:
        """The floor server's request body for the same question."""
        return encode_json({"workload": self.workload, "variables": self.variables})


def _worker(id_number: str) -> Call:
    return Call("worker", WORKER, {"id": id_number})


def _dossier(case_number: str, since: str, until: str) -> Call:
    return Call("dossier", DOSSIER, {"case": case_number, "from": since, "to": until})


def _project(code: str, last_month: str) -> Call:
    return Call("project", PROJECT, {"code": code, "month": last_month})


def summary_call(province: str, last_month: str) -> Call:
    return Call("summary", SUMMARY, {"month": last_month, "region": province})


def dashboard_call(region: str, last_month: str, size: int = DASHBOARD_PAGE) -> Call:
    return Call("dashboard", DASHBOARD, {"month": last_month, "region": region, "first": size})


async def sample_calls(floor: Floor, seed: int) -> dict[str, list[Call]]:
    """Each workload's calls, in a fixed order drawn from the data set with `seed`."""
    housing, court = floor.db["housing"], floor.db["court"]
    rng = random.Random(seed)

    def pick(values: list[Any]) -> list[Any]:
        return rng.sample(values, min(KEYS_PER_WORKLOAD, len(values)))

    [[latest]] = await housing.fetch("SELECT MAX(month) FROM housing_attendance_month")
    last_month = month(latest)
    workers = await housing.fetch("SELECT id_number FROM housing_worker ORDER BY id_number")
    cases = await court.fetch(
        "SELECT case_number, disputed_from, disputed_to FROM court_dispute_case"
        " WHERE case_number IN (SELECT case_number FROM court_case_party"
        " WHERE id_number IS NOT NULL) ORDER BY case_number"
    )
    projects = await housing.fetch(
        "SELECT code FROM housing_project WHERE status = 'under_construction' ORDER BY code"
    )
    regions = await housing.fetch(
        "SELECT DISTINCT region_code FROM housing_project"
        " WHERE status = 'under_construction' ORDER BY region_code"
    )
    calls = {
        "worker": [_worker(r[0]) for r in pick(workers)],
        "dossier": [_dossier(r[0], month(r[1]), str(day(r[2]))[:7]) for r in pick(cases)],
        "project": [_project(r[0], last_month) for r in pick(projects)],
        "dashboard": [dashboard_call(r[0], last_month) for r in pick(regions)],
    }
    position = dict.fromkeys(calls, 0)
    mixed = []
    for index in range(KEYS_PER_WORKLOAD):
        name = MIX[index % len(MIX)]
        mixed.append(calls[name][position[name] % len(calls[name])])
        position[name] += 1
    calls["mixed"] = mixed
    return calls
