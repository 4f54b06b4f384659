"""The GraphiQL page and the static files over HTTP: the page's security headers, that
it names only files the hub serves, cache headers by kind of file, and the same page in
an agency's subgraph service."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

from browser_harness import ON_SQLITE
from conftest import RunningHub, serving
from hub.subgraph_app import create_subgraph_app
from web.graphiql import GRAPHIQL_POLICY
from web.static import OWN_CACHE, VENDOR_CACHE
from web.vendor import REPOSITORY_DIR, manifest

HTML = {"accept": "text/html"}


class _Page(HTMLParser):
    """What a page loads, and any inline script, style or event handler in it."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for attribute in ("src", "href"):
            if named.get(attribute):
                self.loads.append(str(named[attribute]))
        self.inline += [
            f"{tag} {name}" for name, _ in attrs if name == "style" or name.startswith("on")
        ]
        if tag == "style":
            self.inline.append("style element")
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"script: {data.strip()[:40]}")


def _page(url: str) -> tuple[httpx.Response, _Page]:
    response = httpx.get(f"{url}/graphql", headers=HTML)
    parsed = _Page()
    parsed.feed(response.text)
    return response, parsed


@ON_SQLITE
def test_the_page_sends_a_strict_policy(hub: RunningHub) -> None:
    response, _ = _page(hub.url)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert policy == GRAPHIQL_POLICY
    directives = dict(part.split(" ", 1) for part in policy.split("; "))
    assert directives["default-src"] == directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == directives["object-src"] == "'none'"
    assert "unsafe" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


@ON_SQLITE
def test_the_page_has_no_inline_code_and_loads_only_the_hubs_files(hub: RunningHub) -> None:
    _, page = _page(hub.url)
    assert page.inline == []
    assert page.loads
    for url in page.loads:
        assert url.startswith("/static/"), url
        assert httpx.get(f"{hub.url}{url}").status_code == 200, url


@ON_SQLITE
def test_vendored_files_are_cached_for_good(hub: RunningHub) -> None:
    file = manifest().find("graphiql", "graphiql.min.js")
    response = httpx.get(f"{hub.url}{manifest().url('graphiql', 'graphiql.min.js')}")
    assert response.status_code == 200
    assert response.content == (REPOSITORY_DIR / file.path).read_bytes()
    assert response.headers["cache-control"] == VENDOR_CACHE
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["x-content-type-options"] == "nosniff"


@ON_SQLITE
def test_the_hubs_own_files_are_revalidated(hub: RunningHub) -> None:
    response = httpx.get(f"{hub.url}/static/graphiql-init.js")
    assert response.headers["cache-control"] == OWN_CACHE
    again = httpx.get(
        f"{hub.url}/static/graphiql-init.js", headers={"if-none-match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["cache-control"] == OWN_CACHE


@ON_SQLITE
@pytest.mark.parametrize(
    "path",
    ["/static/../hub/app.py", "/static/%2e%2e/hub/app.py", "/static/vendor/", "/static/nothing.js"],
)
def test_nothing_outside_the_static_folder_is_served(hub: RunningHub, path: str) -> None:
    assert httpx.get(f"{hub.url}{path}").status_code == 404


@ON_SQLITE
def test_an_agency_service_serves_the_same_page(hub: RunningHub) -> None:
    """On the demo hub's migrated stores: an agency service answers nothing without its
    audit log, GraphiQL's page included."""
    with serving(create_subgraph_app("housing", hub.settings)) as url:
        response, page = _page(url)
        assert response.headers["content-security-policy"] == GRAPHIQL_POLICY
        assert all(httpx.get(f"{url}{load}").status_code == 200 for load in page.loads)
