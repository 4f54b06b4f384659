"""Every runnable example of the documentation, run against the demo so that none drifts.

A page marks an example with an HTML comment (invisible on the site) right before its
fenced block, and the answer it shows with another before the block that follows:

    <!-- run: as=police-xinmi reference="新公(治)查字〔2026〕118号" variables='{"id": "…"}' -->
    ```graphql
    { worker(idNumber: "…") { name } }
    ```
    <!-- output -->
    ```json
    {"worker": {"name": "…"}}
    ```

`run:` takes `as` (the demo client that asks; required for GraphQL), `purpose` (default:
the client's first), `reference` (`X-Purpose-Reference`) and `variables` (JSON). A ```sh
block marked `<!-- run: sh -->` (`sh status=1`: it exits 1) runs in bash in a directory
holding the demo's `.hub`, `localhost:8000` meaning the demo hub. A ```graphql block
marked `<!-- run: sdl -->` is a piece of the SDL: every line of it is in `schema.graphql`.
A variable written `"$previous.data.…"` takes its value from the answer before.

The output is compared as JSON when it parses: objects by the keys shown (an abridged
object omits keys), lists element by element, and the string "…" matches any value (in
text too); a GraphQL answer shown without `data`/`errors` at its top is compared with its
`data`. Each page gets a fresh demo (SQLite, `hub seed --scale demo --seed 42` and the
demo clients, served by a real uvicorn), and its examples run in the page's order, so an
example may read the audit records the ones before it left.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import hub_processes
from conftest import SEED, backend_settings, serving
from graph.derived.compliance import SEVERITY, Measure
from hub import seeding
from hub.app import create_app
from hub.demo import DEMO_GRANTS, register_demo_clients
from hub.limits.sources import SourceLimits
from hub.wiring import migration_targets
from storage import migrate

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ANY = "…"
"""Matches any value in an expected output."""

MARKER = re.compile(r"^<!--\s*(run:.*?|output)\s*-->\s*$")
FENCE = re.compile(r"^(`{3,})\s*([\w-]*)")


@dataclass
class Example:
    page: str
    line: int
    language: str
    source: str
    options: dict[str, str]
    output: str | None = None
    output_line: int | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass
class PageExamples:
    page: str
    examples: list[Example] = field(default_factory=list)


def _block(lines: list[str], start: int) -> tuple[str, str, int]:
    """The fenced block opening at `start`: its language, text and the line after it."""
    opening = FENCE.match(lines[start])
    assert opening, f"a marker must be followed by a fenced block (line {start + 1})"
    fence, language = opening.groups()
    end = start + 1
    while not lines[end].startswith(fence):
        end += 1
    return language, "\n".join(lines[start + 1 : end]), end + 1


def _options(text: str) -> dict[str, str]:
    options = {}
    for word in shlex.split(text.removeprefix("run:")):
        name, _, value = word.partition("=")
        options[name] = value
    return options


def examples_of(path: Path) -> PageExamples:
    """The page's marked examples, in order, each with the output shown after it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = PageExamples(str(path.relative_to(ROOT)))
    index = 0
    while index < len(lines):
        marker = MARKER.match(lines[index])
        if not marker:
            index += 1
            continue
        at = index + 1
        while not lines[at].strip():
            at += 1
        language, text, index = _block(lines, at)
        if marker.group(1) == "output":
            assert found.examples, f"{found.page}:{at}: an output marker without an example"
            found.examples[-1].output, found.examples[-1].output_line = text, at + 1
        else:
            found.examples.append(
                Example(found.page, at + 1, language, text, _options(marker.group(1)))
            )
    return found


def pages() -> list[PageExamples]:
    everything = [examples_of(path) for path in sorted(DOCS.rglob("*.md"))]
    return [page for page in everything if page.examples]


def mismatch(expected: Any, actual: Any, path: str = "$") -> str | None:
    """Where `actual` departs from the documented `expected`, or None."""
    if expected == ANY:
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}: no {key!r} in {sorted(actual)}"
            if (found := mismatch(value, actual[key], f"{path}.{key}")) is not None:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: expected {len(expected)} items, got {actual!r}"
        for number, (want, got) in enumerate(zip(expected, actual, strict=True)):
            if (found := mismatch(want, got, f"{path}[{number}]")) is not None:
                return found
        return None
    if isinstance(expected, str) and isinstance(actual, str) and matches_text(expected, actual):
        return None
    if expected != actual:
        return f"{path}: expected {expected!r}, got {actual!r}"
    return None


def matches_text(expected: str, actual: str) -> bool:
    """Equal, where each "…" in `expected` stands for any run of characters."""
    pattern = ".*?".join(re.escape(part) for part in expected.split(ANY))
    return re.fullmatch(pattern, actual, re.DOTALL) is not None


@dataclass
class Demo:
    url: str
    secrets: dict[str, str]
    directory: Path
    _clients: dict[tuple[str, str, str | None], httpx.Client] = field(default_factory=dict)

    def client(self, client_id: str, purpose: str | None, reference: str | None) -> httpx.Client:
        grant = next((g for g in DEMO_GRANTS if g.client_id == client_id), None)
        assert grant, f"{client_id} is not a demo client"
        chosen = purpose or grant.purposes[0]
        key = (client_id, chosen, reference)
        if key not in self._clients:
            token = httpx.post(
                f"{self.url}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, self.secrets[client_id]),
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "X-Purpose": chosen}
            if reference:
                # Header values are ASCII: a Chinese reference travels in RFC 8187's form.
                headers["X-Purpose-Reference"] = (
                    reference if reference.isascii() else "UTF-8''" + quote(reference, safe="")
                )
            self._clients[key] = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        return self._clients[key]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def demo_template(directory: Path) -> dict[str, str]:
    """The demo in `directory/.hub` as `make run` sets it up there (migrated, seeded, the
    demo clients registered), served by nobody; the clients' secrets."""
    settings = backend_settings("sqlite", directory / ".hub", "docs")
    state = create_app(settings).state
    migrate.upgrade(
        migration_targets(state.connectors, state.auth_store, state.audit_store, state.alert_store)
    )
    seeding.seed(state.connectors, "demo", SEED)
    secrets = register_demo_clients(state.auth_store)
    (directory / ".hub" / "demo-clients.json").write_text(json.dumps(secrets), encoding="utf-8")
    return secrets  # its databases hold every row committed: a copy of its files is the demo


@contextmanager
def demo_hub(directory: Path, template: Path, secrets: dict[str, str]) -> Iterator[Demo]:
    """A fresh demo hub in `directory`: a copy of the template's, served by a real uvicorn
    (migrating and seeding it anew for every page cost each page a few CPU seconds)."""
    shutil.copytree(template / ".hub", directory / ".hub")
    settings = backend_settings(
        "sqlite", directory / ".hub", "docs", sources=SourceLimits(failures="off")
    )
    app = create_app(settings)
    with serving(app, settings.limits) as url:
        running = Demo(url, dict(secrets), directory)
        try:
            yield running
        finally:
            running.close()


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    directory = tmp_path_factory.mktemp("demo-template")
    return directory, demo_template(directory)


@pytest.fixture
def demo(tmp_path: Path, _template: tuple[Path, dict[str, str]]) -> Iterator[Demo]:
    with demo_hub(tmp_path, *_template) as running:
        yield running


PREVIOUS = "$previous."
"""A variable's value `"$previous.data.projects.pageInfo.endCursor"` is taken from the answer
of the page's example before (a cursor to page on, say)."""


def _from_previous(value: Any, previous: Any) -> Any:
    if isinstance(value, str) and value.startswith(PREVIOUS):
        for key in value.removeprefix(PREVIOUS).split("."):
            previous = previous[int(key)] if isinstance(previous, list) else previous[key]
        return previous
    if isinstance(value, dict):
        return {key: _from_previous(item, previous) for key, item in value.items()}
    return value


def run(example: Example, demo: Demo, previous: Any = None) -> Any:
    """The example's answer: parsed JSON when it is JSON, else its text."""
    if example.language == "graphql" and "sdl" in example.options:
        schema = (ROOT / "schema.graphql").read_text(encoding="utf-8")
        lines = [line.strip() for line in example.source.splitlines() if line.strip()]
        missing = [line for line in lines if line not in schema]
        assert missing == [], f"{example.where}: not in schema.graphql: {missing}"
        return None
    if example.language == "graphql":
        assert "as" in example.options, f"{example.where}: say which client asks (as=…)"
        client = demo.client(
            example.options["as"], example.options.get("purpose"), example.options.get("reference")
        )
        variables = _from_previous(json.loads(example.options.get("variables", "{}")), previous)
        response = client.post("/graphql", json={"query": example.source, "variables": variables})
        return response.json()
    if example.language == "sh" and "sh" in example.options:
        script = example.source.replace("localhost:8000", demo.url.removeprefix("http://"))
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=demo.directory, capture_output=True, text=True, timeout=120,
            env=hub_processes.shim_environment({**os.environ, "PATH": path}),
        )  # fmt: skip
        status = int(example.options.get("status", "0"))
        assert done.returncode == status, f"{example.where}: exit {done.returncode}: {done.stderr}"
        try:
            return json.loads(done.stdout)
        except json.JSONDecodeError:
            return done.stdout
    raise AssertionError(f"{example.where}: cannot run a {example.language or 'plain'} block")


def check(example: Example, answer: Any) -> str | None:
    """What is wrong with the example's answer, or None."""
    graphql = isinstance(answer, dict) and example.language == "graphql"
    shows_errors = example.output is not None and '"errors"' in example.output
    if graphql and not shows_errors and answer.get("errors"):
        return f"{example.where}: the example fails: {answer['errors']}"
    if example.output is None:
        return None
    try:
        expected = json.loads(example.output)
    except json.JSONDecodeError:
        if isinstance(answer, str) and matches_text(example.output, answer.rstrip("\n")):
            return None
        return f"{example.page}:{example.output_line}: the shown output differs: {answer!r}"
    whole = isinstance(expected, dict) and {"data", "errors"} & set(expected)
    if graphql and not whole:
        answer = answer.get("data")
    found = mismatch(expected, answer)
    if found is None:
        return None
    return f"{example.page}:{example.output_line}: the shown output differs at {found}"


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.page)
def test_examples_answer_as_shown(page: PageExamples, demo: Demo) -> None:
    problems, skipped = [], []
    answer = None
    for example in page.examples:
        if example.language == "sh" and "curl " in example.source and not shutil.which("curl"):
            skipped.append(example.where)  # .ci/run installs curl; a bare machine may lack it
            continue
        answer = run(example, demo, answer)
        if found := check(example, answer):
            problems.append(found)
    assert problems == []
    if skipped:
        pytest.skip(f"curl is not installed: {', '.join(skipped)} not run (the rest passed)")


def test_the_documentation_has_runnable_examples() -> None:
    """The six questions at least, each with the answer it shows."""
    questions = examples_of(DOCS / "questions.md").examples
    assert len([e for e in questions if e.output is not None]) >= 6


def test_mismatch_reads_an_abridged_answer() -> None:
    actual = {"a": {"b": [1, {"c": "x", "d": 2}], "e": 3}}
    assert mismatch({"a": {"b": [1, {"c": ANY}]}}, actual) is None
    assert (
        mismatch({"a": {"b": [1]}}, actual)
        == "$.a.b: expected 1 items, got [1, {'c': 'x', 'd': 2}]"
    )
    assert mismatch({"a": {"e": 4}}, actual) == "$.a.e: expected 4, got 3"
    assert mismatch({"f": 1}, actual) == "$: no 'f' in ['a']"


def test_the_user_guide_states_the_rule_the_code_applies() -> None:
    """The Chinese dashboard guide's table of the nine measures and their colours."""
    guide = (DOCS / "zh" / "dashboard.md").read_text(encoding="utf-8")
    colours = {"RED": "红色预警", "YELLOW": "黄色预警", "BLUE": "蓝色预警"}
    rows = {f"| {measure.value} | {colours[level.name]} |" for measure, level in SEVERITY.items()}
    assert rows <= set(guide.splitlines())
    assert len(rows) == len(Measure) == 9


def test_the_warning_rule_page_states_the_rule_the_code_applies() -> None:
    """docs/warning-rule.md's table: each measure with the level its failure raises."""
    page = (DOCS / "warning-rule.md").read_text(encoding="utf-8")
    found = {
        cells[1].split()[0].strip("`"): cells[-2].strip()
        for line in page.splitlines()
        if line.startswith("| `") and len(cells := line.split("|")) == 6
    }
    assert found == {measure.name: level.name for measure, level in SEVERITY.items()}


def test_every_graphql_example_is_run() -> None:
    """A GraphQL block in the documentation is an example a reader will paste: each is
    marked to run (or to be checked against the SDL)."""
    unmarked = []
    for path in sorted(DOCS.rglob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if re.match(r"\s*`{3,}graphql\b", line):
                before = next((lines[i] for i in range(number - 1, -1, -1) if lines[i].strip()), "")
                if not re.match(r"\s*<!--\s*run:", before):
                    unmarked.append(f"{path.relative_to(ROOT)}:{number + 1}")
    assert unmarked == []


def test_the_user_guide_quotes_the_desk_as_it_is() -> None:
    """Every label the Chinese guide quotes (“…”) is one the desk shows: a button, a
    heading, a message or a measure renamed in the code fails here, not at the counter."""
    sources = [*sorted((ROOT / "web").rglob("*.html")), *sorted((ROOT / "web").rglob("*.py"))]
    sources += [ROOT / "graph" / "derived" / "compliance.py", ROOT / "kernel" / "scopes.py"]
    shown = "\n".join(path.read_text(encoding="utf-8") for path in sources)
    quoted = {
        f"{path.name}: {label}"
        for path in sorted((DOCS / "zh").glob("*.md"))
        for label in re.findall(r"“([^”]+)”", path.read_text(encoding="utf-8"))
        if label not in shown
    }
    assert sorted(quoted) == []
