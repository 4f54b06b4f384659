"""The web desk over HTTP (no browser): sessions, CSRF, the origin check, lockout, bad
input, escaping, and the audit record naming the person."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from desk_support import PASSWORD, browser, csrf_of, person, sign_in
from sqlalchemy import update

from auth.models import StaffSession
from browser_harness import ON_SQLITE
from conftest import RunningHub

pytestmark = ON_SQLITE
CASE = "（2026）豫0183民初1024号"
PAGES = [
    "/desk/cases",
    f"/desk/cases?q={CASE}",
    f"/desk/cases/{CASE}",
    f"/desk/cases/{CASE}/dossier.pdf",
    "/desk/dashboard",
    "/desk/projects/410183202503171901",
    "/desk/service?id=341226196603139011",
    "/desk/developer",
    "/desk/purpose",
]


@pytest.mark.parametrize("path", PAGES)
def test_no_page_answers_without_a_session(hub: RunningHub, path: str) -> None:
    with browser(hub) as client:
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/desk/signin?next=")
        client.cookies.set("hub-desk", "forged-session-token")
        assert client.get(path).status_code == 303


def test_a_clerk_signs_in_chooses_a_purpose_and_finds_the_case(hub: RunningHub) -> None:
    person(hub, "clerk-http", "mediation-xinmi", "clerk", "王调解")
    with browser(hub) as client:
        signed = sign_in(client, "clerk-http", purpose="dispute-mediation")
        assert signed.status_code == 303, signed.text
        cookie = next(c for c in client.cookies.jar if c.name == "hub-desk")
        assert cookie.has_nonstandard_attr("HttpOnly")
        page = client.get("/desk/cases", params={"q": "(2026)豫0183民初1024号"})
        assert page.status_code == 200
        assert "张建国" in page.text
        assert CASE in page.text
        assert "Content-Security-Policy" in page.headers
        assert page.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]


def test_the_session_cookie_is_strict_and_http_only(hub: RunningHub) -> None:
    person(hub, "clerk-cookie", "mediation-xinmi", "clerk")
    with browser(hub) as client:
        form = client.get("/desk/signin")
        answer = client.post(
            "/desk/signin",
            data={"csrf": csrf_of(form.text), "username": "clerk-cookie", "password": PASSWORD},
        )
        header = answer.headers["set-cookie"].lower()
        for attribute in ("httponly", "samesite=strict", "path=/"):
            assert attribute in header


def test_a_post_without_csrf_or_from_another_site_is_refused(hub: RunningHub) -> None:
    person(hub, "clerk-csrf", "mediation-xinmi", "clerk")
    with browser(hub) as client:
        sign_in(client, "clerk-csrf")
        missing = client.post(
            "/desk/purpose", data={"purpose": "dispute-mediation", "reference": "x"}
        )
        assert missing.status_code == 403
        assert "CSRF" in missing.text
        token = csrf_of(client.get("/desk/purpose").text)
        cross = client.post(
            "/desk/purpose",
            data={"csrf": token, "purpose": "dispute-mediation", "reference": "x"},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        assert "跨站" in cross.text
        no_origin = httpx_post_without_origin(client, token)
        assert no_origin.status_code == 403
        signout_forged = client.post("/desk/signout", data={"csrf": "forged"})
        assert signout_forged.status_code == 403
        assert client.get("/desk/purpose").status_code == 200  # still signed in


def httpx_post_without_origin(client, token: str):  # type: ignore[no-untyped-def]
    request = client.build_request(
        "POST",
        "/desk/purpose",
        data={"csrf": token, "purpose": "dispute-mediation", "reference": "x"},
    )
    del request.headers["Origin"]
    return client.send(request)


def test_sign_in_without_the_form_token_is_refused(hub: RunningHub) -> None:
    person(hub, "clerk-login-csrf", "mediation-xinmi", "clerk")
    with browser(hub) as client:
        answer = client.post(
            "/desk/signin", data={"username": "clerk-login-csrf", "password": PASSWORD}
        )
        assert answer.status_code == 403


def test_a_form_too_large_or_too_slow_is_refused_before_it_is_parsed(hub: RunningHub) -> None:
    """The form parser would hold any body in memory: a sign-in page, which anyone may
    post to, takes a desk form's size at most, within the body deadline."""
    with browser(hub) as client:
        huge = client.post(
            "/desk/signin",
            content=b"username=" + b"a" * 2_000_000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert (huge.status_code, huge.json()["error"]) == (413, "request_too_large")

        def trickle() -> Iterator[bytes]:  # no Content-Length: the size is found by reading
            yield b"username=a"
            yield b"b" * 20_000

        chunked = client.post(
            "/desk/signin",
            content=trickle(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert chunked.status_code == 413


def test_repeated_bad_passwords_lock_the_account_until_unlocked(hub: RunningHub) -> None:
    from auth.staff import StaffStore

    person(hub, "clerk-lock", "mediation-xinmi", "clerk")
    with browser(hub) as client:
        for _ in range(5):
            assert sign_in(client, "clerk-lock", "wrong password 123").status_code == 401
        refused = sign_in(client, "clerk-lock")
        assert refused.status_code == 401  # the right password, but locked
        assert "用户名或密码不正确" in refused.text
        StaffStore(hub.auth).unlock("clerk-lock")
        assert sign_in(client, "clerk-lock").status_code == 303


def test_an_expired_or_ended_session_is_refused(hub: RunningHub) -> None:
    person(hub, "clerk-expire", "mediation-xinmi", "clerk")
    with browser(hub) as client:
        sign_in(client, "clerk-expire", purpose="dispute-mediation")
        assert client.get("/desk/cases").status_code == 200
        engine = hub.auth.database.sync_engine()
        with engine.begin() as connection:
            connection.execute(
                update(StaffSession.__table__)  # type: ignore[attr-defined]
                .where(StaffSession.__table__.c.username == "clerk-expire")  # type: ignore[attr-defined]
                .values(seen_at=datetime.now(UTC) - timedelta(hours=1))
            )
        engine.dispose()
        assert client.get("/desk/cases").status_code == 303
    with browser(hub) as client:
        sign_in(client, "clerk-expire", purpose="dispute-mediation")
        token = csrf_of(client.get("/desk/cases").text)
        assert client.post("/desk/signout", data={"csrf": token}).status_code == 303
        assert client.get("/desk/cases").status_code == 303


@pytest.mark.parametrize(
    "path",
    [
        "/desk/cases?q=" + "x" * 500,
        "/desk/cases?q=110105194912310021",
        "/desk/cases?q=（2026）XX民初1号",
        "/desk/cases/not-a-case",
        "/desk/cases/（2026）豫0183民初9999号",
        f"/desk/cases/{CASE}?from=2026-13&to=2026-09",
        f"/desk/cases/{CASE}?from=2020-01&to=2026-09",
        "/desk/cases?q=%00%01",
    ],
)
def test_bad_input_is_a_page_never_a_500(hub: RunningHub, path: str) -> None:
    person(hub, "clerk-bad", "mediation-xinmi", "clerk")
    with browser(hub) as client:
        sign_in(client, "clerk-bad", purpose="dispute-mediation")
        answer = client.get(path)
        assert answer.status_code in (200, 400, 404), answer.text[:300]


def test_a_worker_named_script_is_shown_as_text(hub: RunningHub) -> None:
    """The search echoes the query: a `<script>` in it comes back escaped."""
    person(hub, "clerk-xss", "mediation-xinmi", "clerk")
    with browser(hub) as client:
        sign_in(client, "clerk-xss", purpose="dispute-mediation")
        page = client.get("/desk/cases", params={"q": "<script>alert(1)</script>"})
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
