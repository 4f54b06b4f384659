"""The users' six questions end to end, each one GraphQL query over HTTP against the
seeded demo, asserting the stories the generator planted; question 6 ("which agencies
looked at my records") reads what the audit log recorded of the others."""

from __future__ import annotations

import pytest

from conftest import SEED, RunningHub
from questions import (
    ACCESS_REPORT,
    ACCOUNT_STATEMENT,
    DASHBOARD,
    DOSSIER,
    UNPAID_WORKERS,
    WITHOUT_RESIDENCE,
    month_of,
)
from synthetic.stories import Stories, stories


@pytest.fixture(scope="module")
def story() -> Stories:
    return stories(SEED)


def test_q1_mediation_dossier(hub: RunningHub, story: Stories) -> None:
    first, last = story.disputed_months[0], story.disputed_months[-1]
    case = hub.data(
        DOSSIER, {"case": story.dispute_case_number, "from": month_of(first), "to": month_of(last)}
    )["disputeCase"]
    assert case["caseNumber"] == story.dispute_case_number
    assert case["cause"] == "追索劳动报酬纠纷"
    assert case["disputedMonths"] == [month_of(m) for m in story.disputed_months]
    assert [m["outcome"] for m in case["mediations"]] == ["FAILED"]

    worker = next(p["worker"] for p in case["parties"] if p["role"] == "PLAINTIFF")
    assert worker["idNumber"] == story.dispute_worker_id
    assert [c["dailyWageFen"] for c in worker["contracts"]] == [35000]
    assert [a["daysPresent"] for a in worker["attendance"]] == [22, 21, 20]
    positions = worker["wagePositions"]
    assert [p["dueFen"] for p in positions] == [22 * 35000, 21 * 35000, 20 * 35000]
    assert [p["status"] for p in positions] == ["PAID", "UNDERPAID", "UNPAID"]
    assert positions[1]["paidFen"] == 21 * 35000 // 2
    assert positions[2]["arrearsFen"] == 20 * 35000

    defendants = {
        p["enterprise"]["uscc"]: p["enterprise"]
        for p in case["parties"]
        if p["role"] == "DEFENDANT"
    }
    employer = defendants[story.blacklisted_contractor_uscc]
    assert employer["blacklisted"] is True
    assert employer["creditGrade"] == {"grade": "D"}
    assert employer["marketCreditScore"] < 60
    earlier = {c["caseNumber"] for c in employer["disputeCases"]} - {story.dispute_case_number}
    assert set(story.earlier_case_numbers) <= earlier


def test_q2_attended_but_not_paid_last_month(hub: RunningHub, story: Stories) -> None:
    data = hub.data(
        UNPAID_WORKERS,
        {"code": story.arrears_project_code, "month": month_of(story.through_month)},
    )
    unpaid = data["project"]["wagePositions"]
    assert story.unpaid_worker_ids, "the story plants unpaid workers (else this proves nothing)"
    assert {p["worker"]["idNumber"] for p in unpaid} == set(story.unpaid_worker_ids)
    assert all(p["daysPresent"] > 0 and p["paidFen"] == 0 for p in unpaid)


def test_q3_three_colour_dashboard(hub: RunningHub, story: Stories) -> None:
    data = hub.data(
        DASHBOARD,
        {"month": month_of(story.through_month)},
    )
    levels = {n["project"]["code"]: n for n in data["projectWarnings"]["nodes"]}
    assert levels[story.arrears_project_code]["level"] == "RED"
    assert levels[story.no_account_project_code]["level"] == "YELLOW"
    assert levels[story.blue_project_code]["level"] == "BLUE"
    assert levels[story.compliant_project_code]["level"] == "NONE"
    failed = {
        m["measure"] for m in levels[story.blue_project_code]["measures"] if not m["satisfied"]
    }
    assert failed == {"RIGHTS_NOTICE_BOARD"}
    assert data["projectWarnings"]["totalCount"] == len(levels)
    [district] = data["warningSummary"]
    assert district["regionName"] == "新密市"
    assert district["total"] == len(levels)
    assert district["red"] == sum(1 for n in levels.values() if n["level"] == "RED")


def test_q3_level_filter_pages(hub: RunningHub, story: Stories) -> None:
    query = """query($month: YearMonth!, $after: String) {
      projectWarnings(month: $month, level: [RED, YELLOW], first: 1, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { project { code } level }
      }
    }"""
    seen: list[str] = []
    after = None
    while True:
        page = hub.data(query, {"month": month_of(story.through_month), "after": after})
        page = page["projectWarnings"]
        assert all(n["level"] in ("RED", "YELLOW") for n in page["nodes"])
        seen += [n["project"]["code"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"]
    assert {story.arrears_project_code, story.no_account_project_code} <= set(seen)


def test_q4_workers_without_residence(hub: RunningHub, story: Stories) -> None:
    day = story.through_month.replace(day=31).isoformat()
    data = hub.data(
        WITHOUT_RESIDENCE,
        {"on": day},
    )
    found = data["workersWithoutResidence"]
    assert story.workers_without_residence, "the story plants workers without residence"
    assert {n["idNumber"] for n in found["nodes"]} == set(story.workers_without_residence)
    assert found["totalCount"] == len(story.workers_without_residence)
    assert all(n["currentResidence"] is None for n in found["nodes"])


def test_q5_special_account_statement(hub: RunningHub, story: Stories) -> None:
    month = month_of(story.through_month)
    data = hub.data(
        ACCOUNT_STATEMENT,
        {"code": story.arrears_project_code, "month": month},
    )
    project = data["project"]
    assert project["wageAccount"]["holder"]["uscc"] == story.blacklisted_contractor_uscc
    [statement] = project["accountStatement"]
    assert statement["headcountUnpaid"] == len(story.unpaid_worker_ids)
    assert statement["headcountPaid"] == statement["headcountAttended"] - len(
        story.unpaid_worker_ids
    )
    assert statement["allocatedFen"] < statement["wagesDueFen"]
    assert statement["disbursedFen"] < statement["wagesDueFen"]


def test_q6_which_agencies_looked_at_my_records(hub: RunningHub, story: Stories) -> None:
    """The dossier (question 1) discloses its plaintiff; the access report names it."""
    first, last = story.disputed_months[0], story.disputed_months[-1]
    variables = {"case": story.dispute_case_number, "from": month_of(first), "to": month_of(last)}
    hub.data(DOSSIER, variables)
    report = hub.data(ACCESS_REPORT, {"id": story.dispute_worker_id})["accessReport"]
    assert report["subject"].endswith(story.dispute_worker_id[-4:])
    assert story.dispute_worker_id not in str(report)  # the subject is shown masked
    ours = [d for d in report["disclosures"]["nodes"] if d["clientId"] == "test-all-access"]
    assert ours, report
    assert {"争议案件 (case:read)", "工资数额 (wage:read)"} <= set(ours[0]["kinds"])
    assert report["disclosures"]["totalCount"] >= len(ours)
