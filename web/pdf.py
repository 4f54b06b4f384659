"""The dossier as a PDF the hub can vouch for, made on the server with reportlab
(typeset in `web.typeset`, imported with the first PDF a process makes).

Why reportlab and not Chromium's print-to-PDF: the hub must know the exact bytes it hands
out (their SHA-256 goes into the audit record), so the file is made on the server, and
reportlab needs nothing installed: its built-in CID font STSong-Light (Adobe-GB1) renders
Chinese without a font file, so the PDF stays small (~10 kB a page) and the same on every
machine; viewers substitute their own Song/Ming face, and text extraction (pdftotext)
gives the characters back. Chromium on the server would add a browser process per
request and a few hundred MB to every hub host.

Every page carries the audit record's request id and the content hash (SHA-256 of the
dossier's data), and the file's own SHA-256 is kept in that audit record (indexed as an
entity `PDF`), so `hub desk verify-pdf FILE` tells whether a file is one the hub produced,
unchanged. Every value is escaped before reportlab's paragraph markup sees it.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from audit.record import AuditTrail
from auth.staff import DeskSession
from kernel.deferred import deferred
from web.dossier import Dossier

if TYPE_CHECKING:
    from web import typeset
else:
    typeset = deferred("web.typeset")  # reportlab, with the first PDF this process makes

DOSSIER_PDF: Final = "dossier.pdf"
SUBJECT_PREFIX: Final = "wage-hub audit record "
SUBJECT: Final = re.compile(rb"wage-hub audit record ([0-9a-f]{32})")


def trail_of(request: Request) -> AuditTrail | None:
    trail = request.scope.get("audit")
    return trail if isinstance(trail, AuditTrail) else None


def render_dossier(request: Request, d: Dossier, session: DeskSession) -> Response:
    """The PDF response; its SHA-256 goes into the request's audit record."""
    trail = trail_of(request)
    request_id = trail.request_id if trail else None
    content = typeset.dossier_pdf(d, session, request_id, f"{SUBJECT_PREFIX}{request_id or ''}")
    digest = hashlib.sha256(content).hexdigest()
    if trail is not None:
        trail.documents.append(
            {"kind": "dossier.pdf", "sha256": digest, "content_sha256": d.content_sha256}
        )
    filename = quote(f"调解卷宗{d.case['caseNumber']}.pdf", safe="")
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"dossier.pdf\"; filename*=UTF-8''{filename}"
            ),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Document-SHA256": digest,
        },
    )


def claimed_record(content: bytes) -> str | None:
    """The request id a PDF says it came from (its metadata), to name it when the file
    does not match: an altered copy still names its record."""
    found = SUBJECT.search(content)
    return found.group(1).decode() if found else None
