"""The manifest of vendored front-end files (`web/assets/manifest.json`): each file's path
in the repository, the npm package and version it came from, and its SHA-256.

`make assets` writes it (`web/assets/build.py`); a test checks the files against it and it
against `package-lock.json`, so a vendored file cannot change, or fall behind the lock
file, silently. Pages find a package's file here (`Manifest.url`), so templates name no
version and a new release needs no template edit.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

WEB_DIR = Path(__file__).parent
REPOSITORY_DIR = WEB_DIR.parent
STATIC_DIR = WEB_DIR / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
MANIFEST_PATH = WEB_DIR / "assets" / "manifest.json"
STATIC_URL = "/static"


class UnknownAsset(LookupError):
    """A page asked for a vendored file the manifest does not list: run `make assets`."""


@dataclass(frozen=True)
class VendoredFile:
    path: str
    """Where the copy lies, relative to the repository (`web/static/vendor/...` is served,
    `tests/web/vendor/...` is for the tests only)."""
    package: str
    version: str
    source: str
    """The file's path inside the npm package (`umd/react.production.min.js`)."""
    sha256: str

    @property
    def served(self) -> bool:
        return (REPOSITORY_DIR / self.path).is_relative_to(STATIC_DIR)


@dataclass(frozen=True)
class Manifest:
    files: tuple[VendoredFile, ...]

    def find(self, package: str, source: str) -> VendoredFile:
        for file in self.files:
            if file.package == package and file.source == source:
                return file
        raise UnknownAsset(f"{package}/{source} is not vendored; see web/assets/build.py")

    def url(self, package: str, source: str) -> str:
        """The URL the hub serves a vendored file at (versioned: cached for good)."""
        file = self.find(package, source)
        if not file.served:
            raise UnknownAsset(f"{package}/{source} is vendored for the tests only")
        return f"{STATIC_URL}/{(REPOSITORY_DIR / file.path).relative_to(STATIC_DIR).as_posix()}"

    def to_json(self) -> str:
        body = {
            "comment": "Written by `make assets` (web/assets/build.py) from package-lock.json;"
            " do not edit by hand.",
            "files": [asdict(file) for file in self.files],
        }
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls(tuple(VendoredFile(**entry) for entry in json.loads(text)["files"]))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def manifest() -> Manifest:
    """The committed manifest, read once per process."""
    return Manifest.from_json(MANIFEST_PATH.read_text(encoding="utf-8"))
