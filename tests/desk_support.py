"""Helpers for the web desk's tests: people registered under the running hub's demo
clients, and signing in over HTTP as a browser would (the sign-in form's CSRF token, the
Origin header, the session cookie)."""

from __future__ import annotations

import re
from html import unescape

import httpx

from auth.staff import StaffError, StaffStore
from conftest import RunningHub

PASSWORD = "correct horse battery staple"
TOKEN_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def person(hub: RunningHub, username: str, client_id: str, role: str, name: str = "") -> str:
    """Registers a person (once per test session) and returns their user name."""
    staff = StaffStore(hub.auth)
    try:
        staff.add_user(username, client_id, role, display_name=name or username, password=PASSWORD)
    except StaffError:
        staff.reset(username, PASSWORD)
        staff.enable(username)
    return username


def csrf_of(html: str) -> str:
    found = TOKEN_FIELD.search(html)
    assert found, "the page has no CSRF field"
    return unescape(found.group(1))


def browser(hub: RunningHub) -> httpx.Client:
    """A client that keeps cookies and sends the hub's own Origin, like a browser."""
    return httpx.Client(base_url=hub.url, timeout=30, headers={"Origin": hub.url})


def sign_in(
    client: httpx.Client,
    username: str,
    password: str = PASSWORD,
    *,
    purpose: str | None = None,
    reference: str = "（2026）豫0183民初1024号",
) -> httpx.Response:
    """Signs in through the form; with `purpose`, chooses it too. Returns the last answer."""
    form = client.get("/desk/signin")
    answer = client.post(
        "/desk/signin",
        data={"csrf": csrf_of(form.text), "username": username, "password": password, "next": ""},
    )
    if purpose is None or answer.status_code != 303:
        return answer
    page = client.get("/desk/purpose")
    return client.post(
        "/desk/purpose",
        data={"csrf": csrf_of(page.text), "purpose": purpose, "reference": reference, "next": ""},
    )
