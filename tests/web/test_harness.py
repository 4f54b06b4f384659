"""The browser harness itself catches what the page tests rely on it to catch: a request
to another host (recorded, and aborted before it leaves), an inline script under the
hub's CSP (blocked and reported), and Chinese text in a printed PDF."""

from __future__ import annotations

from pathlib import Path

import pytest

import browser_harness
from browser_harness import ON_SQLITE, BrowserPage, is_loopback, pdf_text
from conftest import RunningHub

# .invalid never resolves (RFC 6761), and the harness aborts the request before any lookup.
ELSEWHERE = "http://cdn.example.invalid/react.production.min.js"


@pytest.mark.parametrize(
    ("required", "outcome"), [(False, pytest.skip.Exception), (True, pytest.fail.Exception)]
)
def test_without_chromium_the_tests_skip_unless_it_is_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, required: bool, outcome: type[Exception]
) -> None:
    monkeypatch.setattr(browser_harness, "CHROMIUM", str(tmp_path / "chromium"))
    monkeypatch.setattr(browser_harness, "REQUIRE_BROWSER", required)
    with pytest.raises(outcome, match="apt-get install chromium-headless-shell"):
        browser_harness.require_browser()


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8000/static/hub.css", True),
        ("http://localhost:8000/graphql", True),
        ("http://[::1]:8000/graphql", True),
        ("data:font/woff2;base64,AAAA", True),
        ("blob:http://127.0.0.1:8000/1234", True),
        ("https://unpkg.com/react@18/umd/react.production.min.js", False),
        ("http://127.0.0.1.example.invalid/", False),
        ("ws://10.0.0.1/socket", False),
    ],
)
def test_what_counts_as_local(url: str, local: bool) -> None:
    assert is_loopback(url) is local


@ON_SQLITE
def test_an_inline_script_is_blocked_and_reported(
    browser_page: BrowserPage, hub: RunningHub
) -> None:
    """The module's first page: the hub (started for the session on first use) must start
    before the module's Chromium, as starting it runs `asyncio.run`, which Playwright's
    open sync API refuses (the `chromium` fixture's note)."""
    page = browser_page.page
    page.goto(f"{hub.url}/graphql")
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.injected = true";
          document.head.append(script);
        }"""
    )
    assert page.evaluate("window.injected === undefined")
    violations = browser_page.csp_violations()
    assert {"directive": "script-src-elem", "blocked": "inline"}.items() <= violations[0].items()


def test_a_request_elsewhere_is_recorded_and_aborted(browser_page: BrowserPage) -> None:
    page = browser_page.page
    page.set_content(f'<script src="{ELSEWHERE}"></script><p>offline</p>')
    assert browser_page.left_loopback() == [ELSEWHERE]
    assert page.evaluate("typeof window.React") == "undefined"


def test_printed_chinese_comes_back_from_the_pdf(browser_page: BrowserPage, tmp_path: Path) -> None:
    """民 and 欠 are the characters pypdf returns as radicals (see `pdf_text`)."""
    planted = "调解卷宗（2026）豫0183民初1024号 张建国 欠薪 ¥10,675.00 新公(治)查字〔2026〕118号"
    browser_page.page.set_content(f'<html lang="zh-CN"><body><p>{planted}</p></body></html>')
    assert planted in pdf_text(browser_page.pdf(tmp_path / "planted.pdf"))
