"""The hub's static files (`/static/...`), with cache headers that suit each kind.

Vendored files sit in folders named with their package version
(`vendor/graphiql-3.9.0/graphiql.min.js`): a new version is a new URL, so browsers may
keep them for a year without asking again. The hub's own files keep one name across
releases and are revalidated on every use (`no-cache`; the ETag makes that a 304).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from web.vendor import STATIC_DIR, VENDOR_DIR

VENDOR_ROOT = VENDOR_DIR.resolve()
VENDOR_CACHE = "public, max-age=31536000, immutable"
OWN_CACHE = "no-cache"


class HubStaticFiles(StaticFiles):
    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        vendored = Path(full_path).resolve().is_relative_to(VENDOR_ROOT)
        response.headers["Cache-Control"] = VENDOR_CACHE if vendored else OWN_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_files() -> HubStaticFiles:
    """Mount at `/static` (`web.vendor.STATIC_URL`)."""
    return HubStaticFiles(directory=STATIC_DIR)
