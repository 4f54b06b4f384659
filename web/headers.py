"""Security headers every page of the desk sends.

The Content-Security-Policy allows scripts, styles, images and fonts from the hub itself
only: no inline script or style, no `eval`, no other origin, no framing. A page that needs
more names it (GraphiQL's stylesheet carries its fonts and a few images as `data:` URLs)
and the test of that page shows the browser reports no violation.
"""

from __future__ import annotations

from collections.abc import Mapping

PAGE_POLICY: Mapping[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def content_security_policy(**extra: str) -> str:
    """PAGE_POLICY with sources added, directive names in snake_case:
    `content_security_policy(font_src="data:")` → `... font-src 'self' data: ...`."""
    policy = dict(PAGE_POLICY)
    for name, sources in extra.items():
        directive = name.replace("_", "-")
        policy[directive] = f"{policy.get(directive, '')} {sources}".strip()
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


def page_headers(policy: str) -> dict[str, str]:
    """Headers for a rendered page. `no-store`: pages will show personal data."""
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
