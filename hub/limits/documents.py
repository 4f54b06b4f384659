"""Trusted documents: operations registered ahead of time, stored by the SHA-256 of their
text (Apollo's persisted-query hash), one `<sha256>.graphql` file each.

Files rather than a table: a document never changes once registered (its name is its
hash), every hub process on the host reads the same directory, and deploying the
documents is copying files.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class DocumentStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._known: dict[str, str] = {}
        """Documents already read: content-addressed, so they never go stale."""

    def add(self, document: str) -> str:
        """Register a document; returns its hash. Written beside and renamed, so a
        process reading at the same moment sees the whole document or none."""
        digest = document_hash(document)
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f".{digest}.tmp"
        partial.write_text(document, encoding="utf-8")
        os.replace(partial, self.directory / f"{digest}.graphql")
        return digest

    def get(self, digest: str) -> str | None:
        """The registered document with this hash, or None (also for a malformed hash,
        which must never become a path)."""
        if digest in self._known:
            return self._known[digest]
        if not SHA256_HEX.fullmatch(digest):
            return None
        try:
            document = (self.directory / f"{digest}.graphql").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        self._known[digest] = document
        return document
