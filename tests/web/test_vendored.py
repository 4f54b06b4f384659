"""The vendored front-end files are exactly what the lock file builds: each matches the
manifest's SHA-256, the manifest's versions are package-lock.json's, package.json pins
exact versions, and no file sits in a vendor folder unlisted. With Node and npm, `npm ci`
and the build script reproduce the manifest byte for byte."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from web.assets.build import ASSETS_DIR, BUNDLES, TESTS_VENDOR_DIR, build, lock_packages, npm_ci
from web.vendor import MANIFEST_PATH, REPOSITORY_DIR, STATIC_DIR, VENDOR_DIR, Manifest, sha256_of

REQUIRE_NODE = os.environ.get("HUB_TEST_REQUIRE_NODE") == "1"
MANIFEST = Manifest.from_json(MANIFEST_PATH.read_text(encoding="utf-8"))
# An address a page would load from another origin: src/href/url()/@import/fetch of http(s)
# or protocol-relative URLs.
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|action|formaction|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+["']?(?:https?:)?//)""",
    re.IGNORECASE,
)


@pytest.mark.parametrize("file", MANIFEST.files, ids=lambda file: file.path)
def test_a_vendored_file_matches_the_manifest(file) -> None:  # type: ignore[no-untyped-def]
    assert sha256_of(REPOSITORY_DIR / file.path) == file.sha256


def test_no_unlisted_file_in_the_vendor_folders() -> None:
    listed = {file.path for file in MANIFEST.files}
    present = {
        path.relative_to(REPOSITORY_DIR).as_posix()
        for folder in (VENDOR_DIR, TESTS_VENDOR_DIR)
        for path in folder.rglob("*")
        if path.is_file()
    }
    assert present == listed


def test_the_manifest_versions_are_the_lock_files() -> None:
    packages = lock_packages(ASSETS_DIR)
    declared = json.loads((ASSETS_DIR / "package.json").read_text(encoding="utf-8"))
    for name, version in declared["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}: pin an exact version"
        assert packages[f"node_modules/{name}"]["version"] == version
    for file in MANIFEST.files:
        assert packages[f"node_modules/{file.package}"]["version"] == file.version, file.path
        assert f"/{file.package}-{file.version}/" in file.path
    assert {bundle.package for bundle in BUNDLES} == {file.package for file in MANIFEST.files}
    assert {bundle.package for bundle in BUNDLES} <= set(declared["dependencies"])


def test_only_axe_core_is_kept_out_of_the_served_folder() -> None:
    outside = {file.package for file in MANIFEST.files if not file.served}
    assert outside == {"axe-core"}
    assert all(
        (REPOSITORY_DIR / file.path).is_relative_to(STATIC_DIR)
        for file in MANIFEST.files
        if file.served
    )


def test_no_page_or_stylesheet_of_ours_loads_from_another_origin() -> None:
    """Our templates and static files name no other origin; vendored stylesheets embed
    their fonts and images (data: URLs). Vendored scripts hold links for people to follow
    (GraphiQL's logo links to its project), which load nothing."""
    ours = [
        *(REPOSITORY_DIR / "web" / "templates").glob("*.html"),
        *(path for path in STATIC_DIR.glob("*.*") if path.suffix in (".js", ".css")),
        *(file for file in VENDOR_DIR.rglob("*.css")),
    ]
    assert ours
    offending = {
        path.relative_to(REPOSITORY_DIR).as_posix(): EXTERNAL.findall(
            path.read_text(encoding="utf-8")
        )
        for path in ours
    }
    assert {path: found for path, found in offending.items() if found} == {}


def test_npm_ci_and_the_build_reproduce_the_manifest(tmp_path: Path) -> None:
    """The committed files are what the lock file builds, not edited copies: npm ci into a
    cache folder keyed by the lock file's hash, build into a scratch folder, compare."""
    if not (shutil.which("node") and shutil.which("npm")):
        message = "rebuilding the vendored files needs node and npm on PATH"
        if REQUIRE_NODE:
            pytest.fail(f"HUB_TEST_REQUIRE_NODE=1 but {message}")
        pytest.skip(message)
    lock = (ASSETS_DIR / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    project = cache / "wage-hub" / f"web-assets-{hashlib.sha256(lock).hexdigest()[:16]}"
    project.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(ASSETS_DIR / name, project / name)
    if not (project / "node_modules" / ".package-lock.json").exists():
        npm_ci(project)
    assert build(project, tmp_path) == MANIFEST
