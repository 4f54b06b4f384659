"""`python -m bench.desk --scale demo`: what the web desk's dossier page costs next to the
dossier's GraphQL query over HTTP, at one client, on the same hub process (production
mode, audit on). The page runs that very document in process as a signed-in clerk, then
renders HTML; the target is page ≤ 1.2 × query. Rounds alternate page and query so a
drifting machine slows both alike; the median ratio is reported and written to
`bench/results/desk-<backend>-<scale>.{json,md}`."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from html import unescape
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import quote

import httpx

from bench.dataset import BENCH_CLIENT, BENCH_PURPOSE, HUB, Dataset, _hub, prepare
from bench.report import machine, write_result
from bench.server import serving
from synthetic.stories import stories
from web.runner import document

ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = ROOT / ".hub" / "bench"

CLERK = "bench-clerk"
PASSWORD = "bench-clerk-password-not-a-secret"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    if found is None:
        raise RuntimeError("no CSRF field on the page")
    return unescape(found.group(1))


def _signed_in(url: str) -> httpx.Client:
    """A browser-like client signed in as the bench clerk, with a purpose chosen."""
    client = httpx.Client(base_url=url, timeout=60, headers={"Origin": url})
    form = client.get("/desk/signin")
    answer = client.post(
        "/desk/signin",
        data={"csrf": _csrf(form.text), "username": CLERK, "password": PASSWORD},
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    page = client.get("/desk/purpose")
    client.post(
        "/desk/purpose",
        data={"csrf": _csrf(page.text), "purpose": BENCH_PURPOSE, "reference": "bench"},
    )
    return client


def _rate(call: Any, seconds: float, max_requests: int) -> float:
    """Requests per second of `call` one after another, after a short warm-up."""
    for _ in range(5):
        call()
    started = time.perf_counter()
    done = 0
    while done < max_requests and time.perf_counter() - started < seconds:
        call()
        done += 1
    return done / (time.perf_counter() - started)


def measure(backend: str, scale: str, seed: int, rounds: int, seconds: float) -> dict[str, Any]:
    dataset = Dataset.at(DATA_ROOT, backend, scale, seed)
    manifest = prepare(dataset, print)
    story = stories(seed)
    months = (f"{story.disputed_months[0]:%Y-%m}", f"{story.disputed_months[-1]:%Y-%m}")
    variables = {"case": story.dispute_case_number, "from": months[0], "to": months[1]}
    path = (
        f"/desk/cases/{quote(story.dispute_case_number, safe='')}?from={months[0]}&to={months[1]}"
    )
    _clerk(dataset)
    os.environ["HUB_DESK_SECURE_COOKIE"] = "false"  # plain http on loopback
    query = {"query": document("dossier"), "variables": variables, "operationName": "DeskDossier"}
    rates: dict[str, list[float]] = {"page": [], "query": []}
    with serving(dataset, manifest["secret"], dataset.directory / "server-desk.log") as server:
        page_client = _signed_in(server.url)
        query_client = httpx.Client(base_url=server.url, timeout=60, headers=server.headers())

        def page() -> None:
            answer = page_client.get(path)
            if answer.status_code != 200 or "张建国" not in answer.text:
                raise RuntimeError(f"the dossier page answered {answer.status_code}")

        def over_http() -> None:
            answer = query_client.post("/graphql", json=query)
            if answer.status_code != 200 or answer.json().get("errors"):
                raise RuntimeError(f"the dossier query answered {answer.text[:300]}")

        for number in range(rounds):
            rates["query"].append(_rate(over_http, seconds, 5000))
            rates["page"].append(_rate(page, seconds, 5000))
            print(
                f"bench: round {number + 1} query {rates['query'][-1]:7.1f}"
                f"  page {rates['page'][-1]:7.1f} req/s"
            )
    ratios = sorted(q / p for q, p in zip(rates["query"], rates["page"], strict=True))
    return {
        "backend": backend,
        "scale": scale,
        "machine": machine(),
        "rounds": rounds,
        "seconds_per_run": seconds,
        "rates": rates,
        "page_cost_over_query": {"median": median(ratios), "min": ratios[0], "max": ratios[-1]},
    }


def _clerk(dataset: Dataset) -> None:
    """The bench clerk, under the bench client (once per data set)."""
    listed = _hub(dataset, "users", "list", "--client", BENCH_CLIENT)
    if CLERK not in listed:
        _hub_stdin(
            dataset,
            PASSWORD,
            "users",
            "add",
            CLERK,
            "--client",
            BENCH_CLIENT,
            "--role",
            "clerk",
            "--password-stdin",
        )
    else:
        _hub_stdin(dataset, PASSWORD, "users", "reset", CLERK, "--password-stdin")


def _hub_stdin(dataset: Dataset, text: str, *args: str) -> None:
    subprocess.run(
        [str(HUB), *args],
        input=f"{text}\n",
        env={**os.environ, **dataset.environment()},
        check=True,
        capture_output=True,
        text=True,
    )


def markdown(result: dict[str, Any]) -> str:
    ratio = result["page_cost_over_query"]
    rates = result["rates"]
    return "\n".join(
        [
            f"# Desk dossier page vs its GraphQL query ({result['backend']}, {result['scale']})",
            "",
            "| | requests/s (median of rounds) |",
            "|---|---|",
            f"| dossier query over HTTP | {median(rates['query']):.1f} |",
            f"| dossier page (same query in process + HTML) | {median(rates['page']):.1f} |",
            "",
            f"Page cost ÷ query cost: median {ratio['median']:.3f} (min {ratio['min']:.3f},"
            f" max {ratio['max']:.3f}) over {result['rounds']} rounds; target ≤ 1.2.",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.desk", description=__doc__)
    parser.add_argument("--scale", default="demo", choices=["demo", "small", "medium", "large"])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    result = measure(args.backend, args.scale, args.seed, args.rounds, args.seconds)
    write_result(f"desk-{args.backend}-{args.scale}", result, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
