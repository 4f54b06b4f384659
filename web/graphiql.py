"""GraphiQL served by the hub from its own files, for developers (off in production).

Strawberry's own GraphiQL page loads React and GraphiQL from a public CDN, so on a network
without internet it stays blank; this page loads the vendored copies and mounts GraphiQL
from `static/graphiql-init.js`, where a form sets the bearer token and the purpose headers.
"""

from __future__ import annotations

import functools
from string import Template

from starlette.responses import HTMLResponse

from web.headers import content_security_policy, page_headers
from web.vendor import STATIC_URL, WEB_DIR, manifest

# GraphiQL's stylesheet embeds its fonts and a few images as data: URLs; it needs no
# inline style or script (checked in a real browser: tests/web/test_graphiql_browser.py).
GRAPHIQL_POLICY = content_security_policy(img_src="data:", font_src="data:")


@functools.cache
def _html() -> str:
    vendored = manifest()
    template = Template((WEB_DIR / "templates" / "graphiql.html").read_text(encoding="utf-8"))
    return template.substitute(
        static=STATIC_URL,
        graphiql_css=vendored.url("graphiql", "graphiql.min.css"),
        react=vendored.url("react", "umd/react.production.min.js"),
        react_dom=vendored.url("react-dom", "umd/react-dom.production.min.js"),
        graphiql=vendored.url("graphiql", "graphiql.min.js"),
    )


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(_html(), headers=page_headers(GRAPHIQL_POLICY))
