"""The order in which `make test` hands modules to its test processes: longest first.

pytest-xdist (`--dist loadfile --no-loadscope-reorder`) gives each process a whole module
at a time, in the suite's order, the next one as a process nears the end of its last. A
long module handed out late keeps one process busy while the others have finished: on 2
cores the last 20 s of a run were one process alone on `ingest/test_engine` (27 s, given
out at 263 s). Handed out longest first (the classic longest-processing-time rule), the
short modules fill the end and the processes finish together.

How long each module takes, its tests' set-up, call and teardown added up in a full
`make test` run, is kept in `module_seconds.json` beside this file; a module not in it
(a new one) counts as the median. The figures only order the suite: stale ones make it
end less evenly, never fail it. To measure them again (the controlling process adds up
its reports and merges them into the file, keeping the modules that did not run and
forgetting the ones gone):

    HUB_TEST_RECORD_SECONDS=1 make test
"""

from __future__ import annotations

import json
import os
import statistics
from collections import Counter
from pathlib import Path

import pytest

SECONDS_FILE = Path(__file__).with_name("module_seconds.json")
RECORD = os.environ.get("HUB_TEST_RECORD_SECONDS") == "1"


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _recorded() -> dict[str, float]:
    try:
        seconds = json.loads(SECONDS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(key): float(value) for key, value in seconds.items()}


def longest_first(items: list[pytest.Item]) -> None:
    """`items` sorted in place by their modules' recorded seconds, longest first (the sort
    is stable: a module's tests stay together and in their order)."""
    seconds = _recorded()
    unknown = statistics.median(seconds.values()) if seconds else 0.0

    items.sort(key=lambda item: -seconds.get(_module(item.nodeid), unknown))


class Recorder:
    """Adds up each module's reported seconds (in the controlling process under xdist,
    where every report arrives) and merges them into `module_seconds.json` at the end."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[_module(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(session.config, "workerinput"):  # an xdist test process: not its job
            return
        merged = {**_recorded(), **{name: round(s, 1) for name, s in self.seconds.items()}}
        root = session.config.rootpath  # a module since deleted or moved is forgotten
        merged = {name: s for name, s in merged.items() if (root / name).is_file()}
        SECONDS_FILE.write_text(
            json.dumps(dict(sorted(merged.items())), indent=1) + "\n", encoding="utf-8"
        )


def register(config: pytest.Config) -> None:
    """The recorder, when HUB_TEST_RECORD_SECONDS=1."""
    if RECORD and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Recorder(), "module-seconds")
