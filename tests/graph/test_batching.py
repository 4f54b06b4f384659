"""No N+1: the SQL statements a nested query sends to each agency do not grow with the
number of workers it shows."""

from __future__ import annotations

from conftest import SEED, RunningHub
from connectors import discover
from grants import register_client
from hub.wiring import build_cursors
from kernel.scopes import vocabulary
from questions import NESTED
from synthetic.stories import stories

REGION_BOUND = "test-batching-henan"
"""Every scope, bound to Henan: each entity and record it is shown is decided by region."""


def _statements(hub: RunningHub, first: int, client_id: str | None = None) -> dict[str, int]:
    """Both pages start at a worker who is party to a case, so every nested loader runs."""
    start = build_cursors(hub.settings).seal(stories(SEED).dispute_worker_id[:-1], "Query.workers")
    hub.statements.reset()
    variables = {"first": first, "after": start}
    if client_id is None:
        data = hub.data(NESTED, variables)
    else:
        body = hub.as_client(client_id).post(
            "/graphql", json={"query": NESTED, "variables": variables}
        )
        assert "errors" not in body.json(), body.json()
        data = body.json()["data"]
    assert len(data["workers"]["nodes"]) == first
    return dict(hub.statements.counts)


def test_statements_per_connector_do_not_grow_with_workers(hub: RunningHub) -> None:
    five = _statements(hub, 5)
    fifty = _statements(hub, 50)
    assert set(five) == {connector.name for connector in discover()}
    assert five == fifty


def test_jurisdiction_decisions_do_not_grow_with_workers(hub: RunningHub) -> None:
    """A region-bound client: every worker, project, enterprise, case and record shown is
    decided from loaders, in the same waves, whatever the page's size."""
    register_client(hub, REGION_BOUND, vocabulary(), {"regions": ("41",)})
    five = _statements(hub, 5, REGION_BOUND)
    fifty = _statements(hub, 50, REGION_BOUND)
    assert set(five) == {connector.name for connector in discover()}
    assert five == fifty


def test_project_page_with_compliance_is_batched(hub: RunningHub) -> None:
    query = """
    query($first: Int!) { projects(first: $first) { nodes {
        code compliance(month: "2026-10") { level }
        wagePositions(month: "2026-10") { status worker { name } }
        wageAccount { allocations { amountFen } }
        accountStatement(from: "2026-09", to: "2026-10") { disbursedFen headcountPaid }
    } } }
    """
    counts = []
    for first in (2, 10):
        hub.statements.reset()
        assert len(hub.data(query, {"first": first})["projects"]["nodes"]) == first
        counts.append(dict(hub.statements.counts))
    assert counts[0] == counts[1]


def test_a_partys_cases_answer_their_own_fields(hub: RunningHub) -> None:
    """An enterprise's, a worker's or a project's cases carry every column of the case
    (`many_by(..., primes="case")`): asking their status and filing day costs no further
    statement to the court (it cost one look-up of the cases, one wave later)."""
    story = stories(SEED)
    variables = {"id": story.dispute_worker_id}
    keys_only = """query($id: IdNumber!) { worker(idNumber: $id) {
        disputeCases { caseNumber }
        contracts { project { disputeCases { caseNumber } } }
        registrations { employer { disputeCases { caseNumber } } }
    } }"""
    with_fields = keys_only.replace("caseNumber", "caseNumber status filedOn courtName")
    counts = []
    for query in (keys_only, with_fields):
        hub.statements.reset()
        data = hub.data(query, variables)
        assert data["worker"]["disputeCases"], data
        counts.append(hub.statements.counts.get("court"))
    assert counts[0] == counts[1]
