"""The users' questions (docs/questions.md) as GraphQL documents with the demo's variables,
shared by the tests that ask them of the hub (`e2e/test_questions.py`) and of the hub with
remote connectors (`federation/test_remote*.py`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from synthetic.stories import Stories


def month_of(day: date) -> str:
    return day.strftime("%Y-%m")


DOSSIER = """
query Dossier($case: CaseNumber!, $from: YearMonth!, $to: YearMonth!) {
  disputeCase(caseNumber: $case) {
    caseNumber status cause claimAmountFen disputedMonths
    mediations { committee outcome heldOn }
    parties {
      role name
      worker {
        idNumber name
        contracts { contractNo dailyWageFen project { code } }
        attendance(from: $from, to: $to) { month daysPresent project { code } }
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
}
"""

UNPAID_WORKERS = """query($code: String!, $month: YearMonth!) {
  project(code: $code) {
    wagePositions(month: $month, status: [UNPAID]) {
      daysPresent paidFen worker { idNumber name registrations { active } }
    }
  }
}"""

DASHBOARD = """query($month: YearMonth!) {
  warningSummary(month: $month, regionCodePrefix: "410183") {
    regionCode regionName none blue yellow red total
  }
  projectWarnings(month: $month, regionCodePrefix: "410183", first: 100) {
    totalCount
    nodes { project { code } level measures { measure satisfied severity } }
  }
}"""

WITHOUT_RESIDENCE = """query($on: Date!) {
  workersWithoutResidence(siteRegionCodePrefix: "410183", on: $on, first: 100) {
    totalCount
    nodes { idNumber name currentResidence(on: $on) { address } }
  }
}"""

ACCOUNT_STATEMENT = """query($code: String!, $month: YearMonth!) {
  project(code: $code) {
    wageAccount { accountNo bankName holder { uscc } }
    accountStatement(from: $month, to: $month) {
      allocatedFen disbursedFen wagesDueFen
      headcountRegistered headcountAttended headcountPaid headcountUnpaid
    }
  }
}"""

NESTED = """
query Nested($first: Int!, $after: String) {
  workers(first: $first, after: $after) {
    nodes {
      idNumber name
      registrations {
        trade employer { name }
        project {
          name region { name } generalContractor { name blacklisted creditGrade { grade } }
        }
      }
      attendance(from: "2026-08", to: "2026-10") { month daysPresent }
      contracts { dailyWageFen }
      disbursements(from: "2026-08") { amountFen status project { code } }
      payrollCards { bankName }
      identity { householdRegionName }
      residences { status validUntil }
      currentResidence(on: "2026-10-31") { address }
      complaints { complaintNo }
      disputeCases {
        caseNumber status parties { role name } mediations { outcome } project { name }
      }
      wagePositions(from: "2026-09", to: "2026-10") { dueFen paidFen status }
    }
  }
}
"""
"""Every agency's loaders, nested: its statements (or connector calls) must not grow with
the number of workers."""

ACCESS_REPORT = """query($id: IdNumber!) { accessReport(idNumber: $id, first: 100) {
  subject disclosures { totalCount nodes {
    agency clientId purpose purposeReference kinds at } } } }"""


def five_questions(story: Stories) -> dict[str, tuple[str, dict[str, Any]]]:
    """Questions 1 to 5, each a document and its variables (question 6 reads the audit log,
    which depends on what was asked before)."""
    first, last = story.disputed_months[0], story.disputed_months[-1]
    month = month_of(story.through_month)
    return {
        "q1 dossier": (
            DOSSIER,
            {"case": story.dispute_case_number, "from": month_of(first), "to": month_of(last)},
        ),
        "q2 unpaid workers": (
            UNPAID_WORKERS,
            {"code": story.arrears_project_code, "month": month},
        ),
        "q3 dashboard": (DASHBOARD, {"month": month}),
        "q4 without residence": (
            WITHOUT_RESIDENCE,
            {"on": story.through_month.replace(day=31).isoformat()},
        ),
        "q5 account statement": (
            ACCOUNT_STATEMENT,
            {"code": story.arrears_project_code, "month": month},
        ),
    }
