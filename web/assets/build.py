"""Vendor the front-end files: `npm ci` from the committed lock file, then copy exactly the
built files the hub serves (and axe-core, which only the tests load) with their licences,
and write the manifest (`web/assets/manifest.json`). Run by `make assets`:

    python -m web.assets.build            # npm ci here, then copy
    python -m web.assets.build --no-install   # copy from the node_modules already here

To change a version: edit package.json (exact versions only), `npm install
--package-lock-only`, then `make assets`, and commit all of it. `make run` needs none of
this: the copies are committed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from web.vendor import (
    MANIFEST_PATH,
    REPOSITORY_DIR,
    VENDOR_DIR,
    Manifest,
    VendoredFile,
    sha256_of,
)

ASSETS_DIR = Path(__file__).parent
TESTS_VENDOR_DIR = REPOSITORY_DIR / "tests" / "web" / "vendor"
LICENCE_PREFIXES = ("license", "licence", "notice", "copying")
THIRD_PARTY = "THIRD-PARTY-LICENSES.txt"


@dataclass(frozen=True)
class Bundle:
    """Files taken from one npm package. `bundles` are the packages whose code the files
    carry inside them (their licences go into THIRD-PARTY-LICENSES.txt); packages vendored
    on their own (`external`) are left out of that walk."""

    package: str
    files: tuple[str, ...]
    served: bool = True
    external: tuple[str, ...] = ()


BUNDLES = (
    Bundle("react", ("umd/react.production.min.js",)),
    Bundle("react-dom", ("umd/react-dom.production.min.js",), external=("react",)),
    # GraphiQL 3's UMD build: React and ReactDOM come from the page (window.React), the
    # rest (@graphiql/react, graphql-js, CodeMirror 5, ...) is inside graphiql.min.js.
    Bundle("graphiql", ("graphiql.min.js", "graphiql.min.css"), external=("react", "react-dom")),
    Bundle("echarts", ("dist/echarts.min.js",)),
    Bundle("axe-core", ("axe.min.js",), served=False),
)


class AssetsError(RuntimeError):
    """The npm install or the lock file does not hold what a bundle needs."""


def npm_ci(project: Path) -> None:
    """Install exactly what package-lock.json names (its integrity hashes checked)."""
    if shutil.which("npm") is None:
        raise AssetsError("npm is not on PATH: install Node.js and npm to rebuild the assets")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=project,
        check=True,
        timeout=900,
    )


def lock_packages(project: Path) -> dict[str, dict[str, Any]]:
    """package-lock.json's `packages`: install location → entry."""
    lock = json.loads((project / "package-lock.json").read_text(encoding="utf-8"))
    packages: dict[str, dict[str, Any]] = lock["packages"]
    return packages


def _location(packages: Mapping[str, Any], requester: str, name: str) -> str | None:
    """Where Node finds `name` when the package at `requester` asks for it: the
    requester's own node_modules, then each enclosing one up to the top."""
    prefix = requester
    while True:
        candidate = f"{prefix}/node_modules/{name}" if prefix else f"node_modules/{name}"
        if candidate in packages:
            return candidate
        if not prefix:
            return None
        cut = prefix.rfind("/node_modules/")
        prefix = prefix[:cut] if cut >= 0 else ""


def _requirements(entry: Mapping[str, Any]) -> Iterator[str]:
    for kind in ("dependencies", "optionalDependencies", "peerDependencies"):
        yield from entry.get(kind, {})


def carried(packages: Mapping[str, Any], bundle: Bundle) -> list[str]:
    """Locations of the packages a bundle may carry: its dependencies, peers included
    (graphiql's UMD build carries graphql-js, a peer), less the external ones."""
    root = f"node_modules/{bundle.package}"
    seen: set[str] = set()
    stack = [root]
    while stack:
        location = stack.pop()
        for name in _requirements(packages[location]):
            if name in bundle.external:
                continue
            found = _location(packages, location, name)
            if found is not None and found not in seen and found != root:
                seen.add(found)
                stack.append(found)
    return sorted(seen)


def licence_files(package_dir: Path) -> list[Path]:
    """LICENSE, NOTICE, COPYING files at a package's top, and those in its `licenses/`."""
    top = [p for p in package_dir.iterdir() if p.is_file()]
    extra = (
        sorted((package_dir / "licenses").glob("*")) if (package_dir / "licenses").is_dir() else []
    )
    return sorted(p for p in top if p.name.lower().startswith(LICENCE_PREFIXES)) + extra


def third_party_text(project: Path, packages: Mapping[str, Any], bundle: Bundle) -> str:
    parts = [
        f"Licences of the packages that {bundle.package}'s built files may carry, from"
        " web/assets/package-lock.json (some are needed only to build it).\n"
    ]
    for location in carried(packages, bundle):
        entry = packages[location]
        name = location.rpartition("node_modules/")[2]
        parts.append(
            f"\n===== {name}@{entry['version']} ({entry.get('license', 'no licence field')})\n"
        )
        files = licence_files(project / location)
        if not files:
            parts.append("(the package ships no licence file; see the licence field above)\n")
        for file in files:
            parts.append(f"--- {file.name}\n{file.read_text(encoding='utf-8', errors='replace')}")
            parts.append("" if parts[-1].endswith("\n") else "\n")
    return "".join(parts)


def build(project: Path, out: Path) -> Manifest:
    """Copy the bundles from `project`'s node_modules into `out` (the repository, or a
    scratch folder for the reproducibility test) and write `out`'s manifest."""
    packages = lock_packages(project)
    targets = {
        True: out / VENDOR_DIR.relative_to(REPOSITORY_DIR),
        False: out / TESTS_VENDOR_DIR.relative_to(REPOSITORY_DIR),
    }
    for target in targets.values():
        shutil.rmtree(target, ignore_errors=True)
    files: list[VendoredFile] = []
    for bundle in BUNDLES:
        location = f"node_modules/{bundle.package}"
        if location not in packages:
            raise AssetsError(f"{bundle.package} is not in package-lock.json")
        version = str(packages[location]["version"])
        source_dir = project / location
        installed = json.loads((source_dir / "package.json").read_text(encoding="utf-8"))
        if installed["version"] != version:
            raise AssetsError(
                f"{bundle.package}: installed {installed['version']}, locked {version}: run npm ci"
            )
        target = targets[bundle.served] / f"{bundle.package}-{version}"
        target.mkdir(parents=True)
        copies = [(source, source_dir / source) for source in bundle.files]
        copies += [
            (path.relative_to(source_dir).as_posix(), path) for path in licence_files(source_dir)
        ]
        for source, path in copies:
            shutil.copyfile(path, target / PurePosixPath(source).name)
        if carried(packages, bundle):
            text = third_party_text(project, packages, bundle)
            (target / THIRD_PARTY).write_text(text, encoding="utf-8")
            copies.append((THIRD_PARTY, target / THIRD_PARTY))
        for source, _ in copies:
            copy = target / PurePosixPath(source).name
            files.append(
                VendoredFile(
                    path=copy.relative_to(out).as_posix(),
                    package=bundle.package,
                    version=version,
                    source=source,
                    sha256=sha256_of(copy),
                )
            )
    manifest = Manifest(tuple(files))
    manifest_path = out / MANIFEST_PATH.relative_to(REPOSITORY_DIR)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-install", action="store_true", help="skip npm ci")
    arguments = parser.parse_args(argv)
    if not arguments.no_install:
        npm_ci(ASSETS_DIR)
    manifest = build(ASSETS_DIR, REPOSITORY_DIR)
    for file in manifest.files:
        print(f"{file.sha256[:12]}  {file.path}")


if __name__ == "__main__":
    main()
