"""Pages tested in a real browser: Debian's Chromium headless shell, driven by Playwright.

Playwright's Python wheel carries its own driver; the browser is the system's, never one
Playwright downloads: HUB_TEST_CHROMIUM, else `chromium-headless-shell` (Debian's package of
that name, the browser Playwright itself runs headless), else the full `chromium`. The shell
is Chromium's own engine without the desktop browser around it: it renders, prints to PDF
and downloads the same, in fewer processes (one renderer a page where the full browser
runs three), and costs about half the CPU (measured in the `chromium` fixture's note).
Without a browser, or without Chinese fonts (`fonts-noto-cjk`) or poppler's `pdftotext`,
the browser tests are skipped, unless HUB_TEST_REQUIRE_BROWSER=1 (CI), which makes them
fail.

Each test gets a `BrowserPage` in a fresh browser context (its own cookies and storage) of
one Chromium per test module, which Playwright starts with a new empty profile directory.
Every request the page makes is recorded; one that would leave the loopback address is
recorded and aborted, so a test can assert that nothing left 127.0.0.1. Content-Security-
Policy violations are collected from the page's `securitypolicyviolation` events.

Fixtures (tests/conftest.py): `chromium` (per module: a Playwright `Browser`) and
`browser_page` (a `BrowserPage`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, sync_playwright

REPOSITORY = Path(__file__).resolve().parent.parent
REQUIRE_BROWSER = os.environ.get("HUB_TEST_REQUIRE_BROWSER") == "1"
CHROMIUM = (
    os.environ.get("HUB_TEST_CHROMIUM")
    or shutil.which("chromium-headless-shell")
    or shutil.which("chromium")
    or "/usr/bin/chromium-headless-shell"
)
CHROMIUM_ARGS = ("--disable-gpu", "--disable-quic")
"""Beside Playwright's own switches, which already include --no-sandbox (its
`chromium_sandbox` is off by default), --no-first-run, --disable-background-networking,
--disable-component-update and --disable-sync. Neither costs or saves CPU here (the
desk's module with and without --disable-gpu: the same within a run's noise, in the shell
and in the full browser, each starting its GPU process either way); they keep a host's
GPU and QUIC out of what the pages render and fetch."""
VIEWPORT = {"width": 1366, "height": 768}
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
IN_PAGE_SCHEMES = frozenset({"data", "blob", "about"})
SCREENSHOTS = (
    REPOSITORY / "docs" / "screenshots"
    if os.environ.get("HUB_TEST_SCREENSHOTS") == "update"
    else Path(tempfile.gettempdir()) / "hub-screenshots"
)
"""Where `screenshot` writes: the committed pictures only when asked
(`HUB_TEST_SCREENSHOTS=update`), so a test run leaves the checkout as it found it."""
AXE_SCRIPT = next((REPOSITORY / "tests" / "web" / "vendor").glob("axe-core-*/axe.min.js"))
SERIOUS = ("serious", "critical")
ON_SQLITE = pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
"""Pages are the same on either backend: their browser tests run against the SQLite hub."""

# Runs in every document before its own scripts (Playwright injects it over the DevTools
# protocol, which the page's CSP does not govern), so no violation goes unseen.
CSP_LISTENER = """
window.__hubCspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__hubCspViolations.push({
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
  });
});
"""


def _needed(message: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"HUB_TEST_REQUIRE_BROWSER=1 but {message}")
    pytest.skip(message)


def _chinese_fonts() -> bool:
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    )
    return bool(listed.stdout.strip())


def require_browser() -> None:
    """Skip (or fail, under HUB_TEST_REQUIRE_BROWSER=1) without Chromium or CJK fonts."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _needed(
            f"the browser tests need Chromium's headless shell ({CHROMIUM}):"
            " apt-get install chromium-headless-shell"
        )
    if not _chinese_fonts():
        _needed("the browser tests need Chinese fonts: apt-get install fonts-noto-cjk")


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    require_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def is_loopback(url: str) -> bool:
    """True for a URL on this machine's loopback, and for data:/blob:/about: URLs, which
    never reach the network."""
    parts = urlsplit(url)
    return parts.scheme in IN_PAGE_SCHEMES or parts.hostname in LOOPBACK


@dataclass
class BrowserPage:
    page: Page
    requests: list[str] = field(default_factory=list)
    """Every URL the page asked for (documents, scripts, styles, fetches, websockets)."""
    console: list[tuple[str, str]] = field(default_factory=list)
    """(type, text) of every console message."""
    errors: list[str] = field(default_factory=list)
    """Uncaught exceptions in the page."""

    def left_loopback(self) -> list[str]:
        """Requests that would have left 127.0.0.1 (they were aborted)."""
        return [url for url in self.requests if not is_loopback(url)]

    def csp_violations(self) -> list[dict[str, Any]]:
        """Violations the page reported, and console lines about the policy (the browser
        logs some, such as a blocked inline style, with the source it came from)."""
        reported: list[dict[str, Any]] = self.page.evaluate("window.__hubCspViolations || []")
        logged = [
            {"console": text}
            for _, text in self.console
            if "Content Security Policy" in text or "Content-Security-Policy" in text
        ]
        return reported + logged

    def axe_violations(self, impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
        """axe-core's violations at the given impacts, run in the page as it is now.

        axe is evaluated over the DevTools protocol (the page's CSP would refuse it as an
        inline script); it is the vendored copy, never served by the hub."""
        self.page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
        violations: list[dict[str, Any]] = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return [v for v in violations if v["impact"] in impacts]

    def screenshot(self, name: str, *, settle: bool = True) -> Path:
        """The viewport (1366×768) as <name>.png in `SCREENSHOTS`: docs/screenshots/, which
        the documentation shows, with `HUB_TEST_SCREENSHOTS=update`. `settle`: no focus and the mouse in a corner first, so neither a
        blinking cursor nor a hover state makes the picture differ from run to run."""
        if settle:
            self.page.mouse.move(0, 0)
            self.page.evaluate("document.activeElement && document.activeElement.blur()")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=False, animations="disabled", caret="hide")
        return path

    def pdf(self, path: Path) -> Path:
        """Chromium's print to PDF (A4, backgrounds printed), as a person's "Print / PDF"."""
        self.page.pdf(path=path, format="A4", print_background=True)
        return path


def describe(violations: list[dict[str, Any]]) -> str:
    """axe violations in a line each, for an assertion's message."""
    return "\n".join(
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + ", ".join(json.dumps(node["target"]) for node in v["nodes"])
        for v in violations
    )


def pdf_text(path: Path, *, layout: bool = True) -> str:
    """A PDF's text by poppler's pdftotext: with `layout`, each printed line as one line
    (a table row stays together, padded with spaces); without, in reading order.

    Not pypdf: on Chromium's PDFs with Noto CJK it returns radicals for some ideographs
    (民 as U+2EA0 ⺠, 欠 as U+2F4B ⽋), which neither match the planted text nor normalise
    back; pdftotext gives the ideographs."""
    if shutil.which("pdftotext") is None:
        _needed("PDF text needs poppler's pdftotext: apt-get install poppler-utils")
    result = subprocess.run(
        ["pdftotext", *(["-layout"] if layout else []), "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout.decode("utf-8")


@contextmanager
def open_page(browser: Browser) -> Iterator[BrowserPage]:
    """A page in a fresh context: 1366×768, zh-CN, Beijing time, no service workers."""
    context = browser.new_context(
        viewport=VIEWPORT,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="block",
    )
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    recorded = BrowserPage(page)

    def stay_local(route: Route) -> None:
        if is_loopback(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def on_request(request: Request) -> None:
        recorded.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        recorded.console.append((message.type, message.text))

    context.on("request", on_request)
    page.on("websocket", lambda socket: recorded.requests.append(socket.url))
    page.on("console", on_console)
    page.on("pageerror", lambda error: recorded.errors.append(str(error)))
    context.route("**/*", stay_local)
    try:
        yield recorded
    finally:
        context.close()
