"""The synthetic world, sent in as the agencies would send it, gives the hub the same
answers as the world seeded directly: export every table of a seeded hub in the agencies'
own formats (the bank's payroll file as GB18030 CSV, HR's blacklist as XLSX, CSV for the
rest — housing's national-interface calls come with that endpoint), import the files into
empty databases, and ask both hubs the six questions (SQLite and PostgreSQL).

Question 6 (who looked at a worker's records) differs by exactly the imports: the imported
hub's audit log also says which agencies wrote the worker's data, as it should.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import SEED, RunningHub
from hub_support import Stores, make_stores, running_hub
from questions import ACCESS_REPORT, five_questions
from synthetic.stories import stories

ORDER = {
    "housing": [
        "enterprises", "projects", "workers", "registrations", "attendance", "contracts",
        "certificates",
    ],
    "hr": ["deposits", "complaints", "blacklist", "grades", "insurance"],
    "public_security": ["identities", "residences"],
    "bank": ["accounts", "allocations", "disbursements", "cards"],
    "court": ["cases", "parties", "mediations", "judgments"],
}  # fmt: skip
FORMATS = {("bank", "disbursements"): ("csv", "gb18030"), ("hr", "blacklist"): ("xlsx", "")}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def hubs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningHub, RunningHub, list[str]]]:
    backend = request.param
    seeded = make_stores(backend, tmp_path_factory.mktemp(f"{backend}-seeded"), "rt_seeded")
    seeded.seed("demo")
    imported = make_stores(backend, tmp_path_factory.mktemp(f"{backend}-imported"), "rt_imported")
    files = tmp_path_factory.mktemp(f"{backend}-files")
    lines = _send_the_world(seeded, imported, files)
    with running_hub(seeded) as first, running_hub(imported) as second:
        yield first, second, lines


def _send_the_world(seeded: Stores, imported: Stores, files: Path) -> list[str]:
    lines = []
    for agency, tables in ORDER.items():
        for table in tables:
            format, encoding = FORMATS.get((agency, table), ("csv", "utf-8-sig"))
            path = files / f"{agency}-{table}.{format}"
            with path.open("wb") as out:
                seeded.importer.export(agency, table, out, format, encoding or "utf-8-sig")  # type: ignore[arg-type]
            result = imported.run(agency, table, path)
            assert result.applied, list(result.report.issues())
            assert result.report.errors == 0
            lines.append(result.line())
            result.report.close()
    return lines


def test_every_table_loads_without_an_error_or_a_warning(
    hubs: tuple[RunningHub, RunningHub, list[str]],
) -> None:
    _, _, lines = hubs
    assert len(lines) == sum(len(tables) for tables in ORDER.values())
    assert all(", 0 errors, 0 warnings)" in line for line in lines), lines


def test_questions_1_to_5_get_the_same_answers(
    hubs: tuple[RunningHub, RunningHub, list[str]],
) -> None:
    seeded, imported, _ = hubs
    for name, (document, variables) in five_questions(stories(SEED)).items():
        expected = seeded.data(document, variables)
        assert imported.data(document, variables) == expected, name
        assert expected, name


def _disclosures(hub: RunningHub, worker: str) -> list[dict[str, Any]]:
    report = hub.data(ACCESS_REPORT, {"id": worker})["accessReport"]
    return [
        {key: node[key] for key in ("agency", "clientId", "purpose", "purposeReference", "kinds")}
        for node in report["disclosures"]["nodes"]
    ]


def test_question_6_differs_by_the_imports_that_wrote_the_workers_data(
    hubs: tuple[RunningHub, RunningHub, list[str]],
) -> None:
    seeded, imported, _ = hubs
    story = stories(SEED)
    for document, variables in five_questions(story).values():  # the same history on both
        seeded.data(document, variables)
        imported.data(document, variables)
    worker = story.dispute_worker_id
    expected = _disclosures(seeded, worker)
    found = _disclosures(imported, worker)
    writes = [d for d in found if any("ingest:" in kind for kind in d["kinds"])]
    assert [d for d in found if d not in writes] == expected
    assert expected
    written_by = {d["agency"] for d in writes}
    assert {"housing", "bank", "public_security", "court"} <= written_by
    assert all(d["purpose"] == "data-submission" for d in writes)
