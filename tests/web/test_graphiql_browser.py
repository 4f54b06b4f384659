"""GraphiQL in Debian's Chromium, served by the hub on SQLite with the demo seed: it loads
from the hub alone, runs under the page's CSP without a violation, sends the token and
the purpose headers from its form (a Chinese 文号 RFC 8187-encoded), prints its Chinese
text, and passes axe-core's automated checks."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import expect

from browser_harness import ON_SQLITE, BrowserPage, describe, pdf_text
from conftest import RunningHub

pytestmark = ON_SQLITE

CASE = "（2026）豫0183民初1024号"
QUERY = f"""{{
  disputeCase(caseNumber: "{CASE}") {{
    caseNumber status cause claimAmountFen courtName
    parties {{ role name }}
  }}
}}"""
CLIENT = "mediation-xinmi"
PURPOSE = "dispute-mediation"
REFERENCE = "XM-2026-118"


def _open(browser_page: BrowserPage, hub: RunningHub) -> None:
    browser_page.page.goto(f"{hub.url}/graphql")
    expect(browser_page.page.locator(".graphiql-query-editor .CodeMirror")).to_be_visible()


def _run(browser_page: BrowserPage, hub: RunningHub) -> None:
    """Sign in the way a developer does today: paste a token, name the purpose and the
    file, type the query, run it."""
    page = browser_page.page
    page.get_by_label("访问令牌").fill(hub.token(CLIENT))
    page.get_by_label("用途").fill(PURPOSE)
    page.get_by_label("文号").fill(REFERENCE)
    page.get_by_role("button", name="应用").click()
    expect(page.locator("#hub-status")).to_contain_text(f"已应用：用途 {PURPOSE}")
    page.locator(".graphiql-query-editor .CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(QUERY)
    with page.expect_response(
        lambda response: (
            response.url == f"{hub.url}/graphql"
            and "disputeCase" in (response.request.post_data or "")
        )
    ) as answered:
        page.locator(".graphiql-execute-button").click()
    response = answered.value
    assert response.status == 200
    sent = response.request.headers
    assert sent["authorization"].startswith("Bearer ")
    assert (sent["x-purpose"], sent["x-purpose-reference"]) == (PURPOSE, REFERENCE)
    expect(page.locator(".result-window")).to_contain_text(CASE)


def test_graphiql_loads_from_the_hub_alone_and_runs_a_typed_query(
    browser_page: BrowserPage, hub: RunningHub, tmp_path: Path
) -> None:
    """With the token and the purpose, and the page with its answer prints its Chinese
    text. The page's requests, errors and CSP violations are all kept from its opening
    (one document: running a query loads no other), so those checked after the answer
    cover the page as it loaded too."""
    page = browser_page.page
    _open(browser_page, hub)
    assert browser_page.requests, "the page made no request at all"
    page.evaluate("window.openedHere = true")
    _run(browser_page, hub)
    assert page.evaluate("window.openedHere === true")  # still the document that loaded
    result = page.locator(".result-window")
    expect(result).to_contain_text('"status"')
    expect(result).not_to_contain_text('"errors"')
    assert browser_page.left_loopback() == []
    assert all(url.startswith(hub.url) for url in browser_page.requests)
    assert browser_page.errors == []
    assert browser_page.csp_violations() == []
    browser_page.screenshot("graphiql")
    text = pdf_text(browser_page.pdf(tmp_path / "graphiql.pdf"))
    # On A4 GraphiQL's panes are narrow and wrap the case number: short values only.
    for planted in ("追索劳动报酬纠纷", "新密市人民法院", "张建国", "郑州豫通建设集团有限"):
        assert planted in text  # the result pane
    assert "访问令牌" in text  # the page's own label


def test_axe_finds_no_serious_violation(browser_page: BrowserPage, hub: RunningHub) -> None:
    """Both as the page opens and with a result shown (the response pane's colours)."""
    _open(browser_page, hub)
    assert browser_page.axe_violations() == [], describe(browser_page.axe_violations())
    _run(browser_page, hub)
    violations = browser_page.axe_violations()
    assert violations == [], describe(violations)


def test_a_chinese_reference_travels_rfc_8187_encoded(
    browser_page: BrowserPage, hub: RunningHub
) -> None:
    """Browsers refuse header values outside ISO-8859-1: the page sends a Chinese 文号 as
    `UTF-8''` + percent-encoded UTF-8, and the hub records it decoded."""
    _open(browser_page, hub)
    page = browser_page.page
    page.get_by_label("访问令牌").fill(hub.token(CLIENT))
    page.get_by_label("用途").fill(PURPOSE)
    page.get_by_label("文号").fill(CASE)
    page.get_by_role("button", name="应用").click()
    expect(page.locator("#hub-status")).to_contain_text(f"已应用：用途 {PURPOSE}")
    page.locator(".graphiql-query-editor .CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text("{ __typename }")
    with page.expect_response(lambda r: r.url == f"{hub.url}/graphql") as answered:
        page.locator(".graphiql-execute-button").click()
    sent = answered.value.request.headers["x-purpose-reference"]
    assert sent == "UTF-8''" + quote(CASE, safe="")
    assert answered.value.status == 200
    assert browser_page.errors == []
