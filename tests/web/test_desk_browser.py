"""The web desk in Debian's Chromium, on the SQLite hub with the demo seed: a clerk finds
the planted dispute and its facts on the page and in the PDF, which the hub vouches for; a
person without worker:identity sees ID numbers masked in both; a supervisor sees the
planted red project with its failing measures; a service-desk officer prints the report
listing the clerk's disclosure; a developer reaches GraphiQL signed in. Every page loads
from the hub alone, under its CSP without a violation, passes axe-core, and is reachable
by keyboard; the four pages are screenshotted for the documentation."""

from __future__ import annotations

from pathlib import Path

import desk_support
import pytest
from desk_support import PASSWORD, person
from playwright.sync_api import Page, expect

from auth.store import Grant
from browser_harness import ON_SQLITE, BrowserPage, describe, pdf_text
from conftest import RunningHub
from hub.demo import CASE_HOLDER_SCOPES
from hub.wiring import build_audit_store
from kernel.scopes import WORKER_IDENTITY
from web.verify import check_pdf

pytestmark = ON_SQLITE

CASE = "（2026）豫0183民初1024号"
WORKER_ID = "341226196603139011"
MASKED_ID = "341***********9011"
REFERENCE = "新调〔2026〕118号"
PLANTED_ON_PAGE = (
    "张建国",
    "追索劳动报酬纠纷",
    "郑州豫通建设集团有限公司",
    "郑人社黑〔2025〕12号",
    "在黑名单中",
    "（2024）豫0183民初356号",
    "（2025）豫0183民初1187号",
    "¥3,675.00",  # August's arrears: half of 21 days at 350 yuan
    "¥7,000.00",  # September, unpaid
    "调解不成",
)
RED_PROJECT = "410183202503171901"


def sign_in(page: Page, hub: RunningHub, username: str, reference: str = REFERENCE) -> None:
    page.goto(f"{hub.url}/desk")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="查询用途 Purpose")).to_be_visible()
    page.get_by_label("案号或文号").fill(reference)
    page.get_by_role("button", name="确定").click()


def assert_clean(browser_page: BrowserPage, hub: RunningHub) -> None:
    assert browser_page.left_loopback() == []
    assert all(url.startswith(hub.url) or url.startswith("data:") for url in browser_page.requests)
    assert browser_page.errors == []
    assert browser_page.csp_violations() == []
    violations = browser_page.axe_violations()
    assert violations == [], describe(violations)


def open_dossier(browser_page: BrowserPage, hub: RunningHub, username: str) -> Page:
    page = browser_page.page
    sign_in(page, hub, username)
    page.get_by_label("案号、当事人姓名或身份证号").fill("(2026)豫0183民初1024号")
    page.get_by_role("button", name="检索").click()
    page.get_by_role("link", name=CASE).click()
    expect(page.get_by_role("heading", name=f"调解卷宗 {CASE}")).to_be_visible()
    return page


def download_pdf(page: Page, tmp_path: Path) -> Path:
    with page.expect_download() as downloading:
        page.get_by_role("link", name="打印 / PDF").click()
    path = tmp_path / "dossier.pdf"
    downloading.value.save_as(path)
    return path


def test_a_clerk_finds_the_planted_dossier_and_its_pdf_is_vouched_for(
    browser_page: BrowserPage, hub: RunningHub, tmp_path: Path
) -> None:
    person(hub, "clerk-browser", "mediation-xinmi", "clerk", "王调解")
    page = open_dossier(browser_page, hub, "clerk-browser")
    main = page.locator("main")
    for planted in PLANTED_ON_PAGE:
        expect(main).to_contain_text(planted)
    expect(main).to_contain_text(WORKER_ID)
    expect(page.locator(".desk-chart canvas").first).to_be_visible()  # ECharts drew
    assert_clean(browser_page, hub)
    browser_page.screenshot("desk-dossier")

    pdf = download_pdf(page, tmp_path)
    text = pdf_text(pdf, layout=False)
    for planted in (*PLANTED_ON_PAGE[:4], "3,675.00", WORKER_ID, "审计记录"):
        assert planted in text, planted
    audit = build_audit_store(hub.settings, hub.auth).database
    check = check_pdf(audit, pdf.read_bytes())
    assert check.genuine
    assert check.record is not None
    assert (check.record["user"], check.record["client_id"]) == ("clerk-browser", "mediation-xinmi")
    assert check.record["request_id"] in text  # printed on the page
    assert check.record["documents"][0]["content_sha256"] in text.replace("\n", "")
    changed = bytearray(pdf.read_bytes())
    changed[len(changed) // 2] ^= 1
    altered = check_pdf(audit, bytes(changed))
    assert not altered.genuine
    assert altered.claimed_request_id == check.record["request_id"]


def test_without_worker_identity_id_numbers_stay_masked_on_the_page_and_in_the_pdf(
    browser_page: BrowserPage, hub: RunningHub, tmp_path: Path
) -> None:
    if hub.auth.get_client("mediation-trainee") is None:
        hub.auth.add_client(
            "mediation-trainee",
            Grant(
                agency="mediation",
                title="新密市劳资纠纷调解委员会 见习",
                scopes=tuple(s for s in CASE_HOLDER_SCOPES if s != WORKER_IDENTITY),
                purposes=("dispute-mediation",),
                limits={"courts": ("豫0183",)},
            ),
        )
    person(hub, "trainee-browser", "mediation-trainee", "clerk")
    page = open_dossier(browser_page, hub, "trainee-browser")
    main = page.locator("main")
    expect(main).to_contain_text(MASKED_ID)
    expect(main).not_to_contain_text(WORKER_ID)
    expect(main).to_contain_text("worker:identity")  # says what is withheld
    text = pdf_text(download_pdf(page, tmp_path), layout=False)
    assert MASKED_ID in text
    assert WORKER_ID not in text


def test_the_dashboard_shows_the_planted_red_project_and_its_failing_measures(
    browser_page: BrowserPage, hub: RunningHub
) -> None:
    person(hub, "supervisor-browser", "hr-bureau-xinmi", "supervisor", "李监管")
    page = browser_page.page
    sign_in(page, hub, "supervisor-browser", "郑人社〔2026〕7号")
    page.goto(f"{hub.url}/desk/dashboard?month=2026-10&region=4101")
    page.get_by_role("link", name="新密市", exact=True).click()
    row = page.locator("tr", has=page.get_by_role("link", name="新密市青屏花园二期住宅工程"))
    expect(row).to_contain_text("红色预警")
    expect(row).to_contain_text("工资按月足额发放")
    expect(row).to_contain_text("5 workers unpaid or underpaid")
    expect(page.locator(".desk-chart canvas")).to_be_visible()
    assert_clean(browser_page, hub)
    browser_page.screenshot("desk-dashboard")
    page.get_by_role("link", name="新密市青屏花园二期住宅工程").click()
    expect(page.locator("main")).to_contain_text(RED_PROJECT)
    expect(page.locator("main")).to_contain_text("41410183202503171901"[-4:])
    expect(page.locator("main")).to_contain_text("未发放")
    assert_clean(browser_page, hub)


def test_the_service_desk_prints_the_report_listing_the_clerks_disclosure(
    browser_page: BrowserPage, hub: RunningHub, tmp_path: Path
) -> None:
    person(hub, "clerk-disclosure", "mediation-xinmi", "clerk")
    # the disclosure to list, made over HTTP (the clerk's pages are the first test's)
    with desk_support.browser(hub) as clerk:
        desk_support.sign_in(
            clerk, "clerk-disclosure", purpose="dispute-mediation", reference=REFERENCE
        )
        assert CASE in clerk.get(f"/desk/cases/{CASE}").text
    person(hub, "desk-officer", "service-desk-xinmi", "service-desk", "赵窗口")
    page = browser_page.page
    sign_in(page, hub, "desk-officer", "新人社窗〔2026〕5号")
    page.get_by_label("劳动者身份证号").fill(WORKER_ID)
    page.get_by_role("button", name="查询").click()
    row = page.locator("tbody tr", has_text=REFERENCE).first
    expect(row).to_contain_text("mediation")
    expect(row).to_contain_text("dispute-mediation")
    expect(row).to_contain_text("身份信息")
    expect(page.locator("main")).not_to_contain_text("clerk-disclosure")  # never the person
    expect(page.get_by_role("button", name="打印告知单")).to_be_visible()
    assert_clean(browser_page, hub)
    browser_page.screenshot("desk-service")
    text = "".join(pdf_text(browser_page.pdf(tmp_path / "report.pdf"), layout=False).split())
    assert REFERENCE in text
    assert "dispute-mediation" in text
    assert "打印告知单" not in text  # the print stylesheet hides the page's controls
    assert "退出登录" not in text


def test_a_developer_opens_graphiql_signed_in(browser_page: BrowserPage, hub: RunningHub) -> None:
    person(hub, "developer-browser", "dashboard-zhengzhou", "developer", "陈开发")
    page = browser_page.page
    sign_in(page, hub, "developer-browser", "郑数据〔2026〕12号")
    assert_clean(browser_page, hub)
    page.get_by_role("button", name="打开 GraphiQL").click()
    expect(page.locator(".graphiql-query-editor .CodeMirror")).to_be_visible()
    expect(page.get_by_label("用途")).to_have_value("statistics")
    expect(page.get_by_label("文号")).to_have_value("郑数据〔2026〕12号")
    page.locator(".graphiql-query-editor .CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(
        '{ warningRollup(month: "2026-10", regionCodePrefix: "4101", level: CITY) { regionName red } }'
    )
    with page.expect_response(
        lambda r: r.url == f"{hub.url}/graphql" and r.request.method == "POST"
    ) as answered:
        page.locator(".graphiql-execute-button").click()
    assert answered.value.status == 200
    assert answered.value.request.headers["x-purpose-reference"].startswith("UTF-8''%E9%83%91")
    expect(page.locator(".result-window")).to_contain_text("郑州市")
    assert browser_page.csp_violations() == []
    browser_page.screenshot("desk-graphiql")
    events = hub.data(
        '{ auditEvents(first: 1, filter: {client: "dashboard-zhengzhou"}) { nodes { user purposeReference } } }'
    )["auditEvents"]["nodes"]
    assert events == [{"user": "developer-browser", "purposeReference": "郑数据〔2026〕12号"}]


@pytest.mark.parametrize(
    ("path", "controls"),
    [
        ("/desk/signin", ["username", "password"]),
        ("/desk/cases", ["q"]),
    ],
)
def test_the_main_controls_are_reached_by_keyboard(
    browser_page: BrowserPage, hub: RunningHub, path: str, controls: list[str]
) -> None:
    page = browser_page.page
    if path != "/desk/signin":
        person(hub, "clerk-keyboard", "mediation-xinmi", "clerk")
        sign_in(page, hub, "clerk-keyboard")
    page.goto(f"{hub.url}{path}")
    reached: list[str] = []
    for _ in range(15):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        )
    for control in controls:
        assert control in reached, reached
    button = "登录" if path == "/desk/signin" else "检索"
    assert button in reached, reached


def test_a_script_typed_into_the_search_is_shown_as_text(
    browser_page: BrowserPage, hub: RunningHub
) -> None:
    person(hub, "clerk-script", "mediation-xinmi", "clerk")
    page = browser_page.page
    sign_in(page, hub, "clerk-script")
    page.get_by_label("案号、当事人姓名或身份证号").fill("<script>window.owned=1</script>")
    page.get_by_role("button", name="检索").click()
    expect(page.get_by_label("案号、当事人姓名或身份证号")).to_have_value(
        "<script>window.owned=1</script>"
    )
    assert page.evaluate("window.owned === undefined")
    assert browser_page.csp_violations() == []
