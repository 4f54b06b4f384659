"""A benchmark data set: migrated and seeded through the `hub` command line, exactly as an
operator would, and reused while its scale and seed stay the same (seeding `large` takes
minutes, measuring it should not).

SQLite lives in `.hub/bench/sqlite-<scale>/`; PostgreSQL in databases named
`bench_<scale>_<agency>` and `bench_<scale>_auth` (never the tests' `hub_test_*`), with the
manifest in `.hub/bench/postgres-<scale>/`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from audit.store import AuditStore
from auth.sealing import create_kek_file
from auth.store import AuthStore
from connectors.base import discover
from graph.facts.store import FactsStore
from kernel.scopes import vocabulary
from storage.keys import create_key_file
from synthetic.facts import SCALES

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
BENCH_CLIENT = "bench"
BENCH_PURPOSE = "benchmark"
MANIFEST = "bench-dataset.json"
HUB = Path(sys.executable).with_name("hub")


AUDIT_HASH_KEY = "bench-audit-hash-key-not-a-secret"
"""Production settings need one; the bench's data are synthetic."""
AUDIT_ORIGIN = "bench.hub.invalid/audit"
"""Production names its audit log."""


def targets() -> list[str]:
    """Every database the hub uses: one per agency, the auth store's and the audit log's."""
    return [
        *(connector.name for connector in discover()),
        AuthStore.name,
        AuditStore.name,
        FactsStore.name,
    ]


@dataclass(frozen=True)
class Dataset:
    backend: str
    scale: str
    seed: int
    directory: Path

    @classmethod
    def at(cls, root: Path, backend: str, scale: str, seed: int) -> Dataset:
        return cls(backend, scale, seed, root / f"{backend}-{scale}")

    def database_url(self, target: str) -> str:
        """The plain (driver-less) URL of one target's database."""
        if self.backend == "postgres":
            return f"{POSTGRES_SERVER}/bench_{self.scale}_{target}"
        return f"sqlite:///{(self.directory / f'{target}.db').resolve()}"

    @property
    def kek_file(self) -> Path:
        return (self.directory / "keys" / "token.kek").resolve()

    @property
    def checkpoint_key_file(self) -> Path:
        return (self.directory / "keys" / "audit-checkpoint.key").resolve()

    def provision_keys(self) -> None:
        """What production does not create by itself: the signing keys' key-encryption
        key and the audit log's checkpoint key (both kept with the data set)."""
        create_kek_file(self.kek_file)
        if not self.checkpoint_key_file.exists():
            create_key_file(self.checkpoint_key_file)

    def environment(self) -> dict[str, str]:
        """The `HUB_*` variables that point the hub at this data set."""
        env = {
            "HUB_DATA_DIR": str(self.directory.resolve()),
            "HUB_AUDIT_HASH_KEY": AUDIT_HASH_KEY,
            "HUB_AUDIT_ORIGIN": AUDIT_ORIGIN,
            "HUB_AUDIT_CHECKPOINT_KEY_FILE": str(self.checkpoint_key_file),
            "HUB_TOKEN_KEK_FILE": str(self.kek_file),
            # The warning facts cover the months the data set holds (its scale's), not a
            # year: a refresh costs one assessment per project and month.
            "HUB_FACTS_MONTHS": str(SCALES[self.scale].months),
        }
        for target in targets():
            env[f"HUB_{target.upper()}_DB_URL"] = self.database_url(target)
        return env

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST

    def manifest(self) -> dict[str, Any] | None:
        """The manifest of a complete seeding of this scale and seed, or None."""
        if not self.manifest_path.exists():
            return None
        manifest: dict[str, Any] = json.loads(self.manifest_path.read_text())
        if manifest.get("scale") != self.scale or manifest.get("seed") != self.seed:
            return None
        return manifest

    def size_bytes(self) -> int:
        """On-disk size of every agency's database (auth store excluded: it is not data)."""
        agencies = [t for t in targets() if t != AuthStore.name]
        if self.backend == "postgres":
            total = 0
            with psycopg.connect(f"{POSTGRES_SERVER}/postgres") as connection:
                for target in agencies:
                    name = f"bench_{self.scale}_{target}"
                    found = connection.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
                    total += int(found[0]) if found else 0
            return total
        return sum(
            path.stat().st_size
            for t in agencies
            for path in self.directory.glob(f"{t}.db*")
            if path.is_file()
        )


def _hub(dataset: Dataset, *args: str) -> str:
    dataset.provision_keys()
    environment = {**os.environ, **dataset.environment(), "HUB_ENV": "production"}
    done = subprocess.run(
        [str(HUB), *args], env=environment, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"hub {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _fresh_databases(dataset: Dataset) -> None:
    """Start from nothing, so a half-finished earlier seeding cannot leak into the numbers."""
    dataset.directory.mkdir(parents=True, exist_ok=True)
    dataset.manifest_path.unlink(missing_ok=True)
    if dataset.backend == "postgres":
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as connection:
            for target in targets():
                name = f"bench_{dataset.scale}_{target}"
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                connection.execute(f'CREATE DATABASE "{name}"')
    else:
        for path in dataset.directory.glob("*.db*"):
            path.unlink()


def _missing_databases(dataset: Dataset) -> None:
    if dataset.backend != "postgres":
        return
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as connection:
        existing = {row[0] for row in connection.execute("SELECT datname FROM pg_database")}
        for target in targets():
            if (name := f"bench_{dataset.scale}_{target}") not in existing:
                connection.execute(f'CREATE DATABASE "{name}"')


def prepare(dataset: Dataset, log: Any = print) -> dict[str, Any]:
    """The data set's manifest: seeding time, size, and the bench client's secret, seeding
    first unless a complete seeding of the same scale and seed is already there."""
    if (manifest := dataset.manifest()) is not None:
        log(f"reusing {dataset.backend}-{dataset.scale} (seed {dataset.seed})")
        _missing_databases(dataset)  # a store added since it was seeded (the audit log)
        _hub(dataset, "migrate")
        if "facts_seconds" not in manifest:  # seeded before `hub seed` kept warning facts
            log("refreshing the warning facts ...")
            manifest["facts_seconds"] = _seconds(_hub(dataset, "facts", "refresh"), "refreshed in")
            _write_manifest(dataset, manifest)
        if dataset.backend == "postgres" and "analyze_seconds" not in manifest:
            manifest["analyze_seconds"] = _analyze(dataset)
            _write_manifest(dataset, manifest)
        return manifest
    log(f"seeding {dataset.backend}-{dataset.scale} (seed {dataset.seed}) ...")
    _fresh_databases(dataset)
    _hub(dataset, "migrate")
    started = time.perf_counter()
    seeded = _hub(dataset, "seed", "--scale", dataset.scale, "--seed", str(dataset.seed), "--force")
    seed_seconds = time.perf_counter() - started
    printed = _hub(
        dataset,
        "clients",
        "add",
        BENCH_CLIENT,
        "--agency",
        "bench",
        "--scopes",
        " ".join(vocabulary()),
        "--purposes",
        BENCH_PURPOSE,
    )
    found = re.search(r"^client_secret\s+(\S+)$", printed, re.MULTILINE)
    if not found:
        raise RuntimeError(f"no secret in the output of `hub clients add`:\n{printed}")
    manifest = {
        "backend": dataset.backend,
        "scale": dataset.scale,
        "seed": dataset.seed,
        "seed_seconds": round(seed_seconds, 1),
        "facts_seconds": _seconds(seeded, "levels in"),
        "size_bytes": dataset.size_bytes(),
        "secret": found.group(1),
    }
    if dataset.backend == "postgres":
        manifest["analyze_seconds"] = _analyze(dataset)
    _write_manifest(dataset, manifest)
    log(f"seeded in {seed_seconds:.1f} s, {manifest['size_bytes'] / 2**20:.0f} MiB")
    return manifest


def _seconds(printed: str, before: str) -> float:
    """The warning facts' refresh time, from the line `hub seed` or `hub facts refresh`
    prints ("… levels in 12.3 s", "… refreshed in 12.3 s")."""
    found = re.search(rf"{before} ([0-9.]+) s", printed)
    if not found:
        raise RuntimeError(f"no refresh time in:\n{printed}")
    return float(found.group(1))


def _analyze(dataset: Dataset) -> float:
    """`hub seed` bulk-loads with COPY and leaves PostgreSQL without statistics until
    autovacuum gets round to it, so the planner guesses (hash joins over whole tables for a
    one-row look-up). Measure the steady state: ANALYZE every database first."""
    started = time.perf_counter()
    for target in targets():
        with psycopg.connect(dataset.database_url(target), autocommit=True) as connection:
            connection.execute("ANALYZE")
    return round(time.perf_counter() - started, 1)


def _write_manifest(dataset: Dataset, manifest: dict[str, Any]) -> None:
    """Readable by the owner only: it holds the bench client's secret."""
    descriptor = os.open(dataset.manifest_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(manifest, file, indent=2)
