"""Run by test_locality.py in its own process (answers to the file named first), with HUB_AGENCY_PATH pointing at a temporary
copy of the sixth agency: migrate, seed, register two clients, ask, print what came back."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from starlette.testclient import TestClient

from auth.store import Grant
from connectors import discover
from hub.app import create_app
from hub.cli import main
from hub.graph import hub_schema
from hub.settings import HubSettings
from hub.wiring import build_auth_store

ENTERPRISE = (
    "query($uscc: USCC!) { enterprise(uscc: $uscc) { uscc name insurancePolicies { fundCode } } }"
)
PROJECT = "query($code: String!) { project(code: $code) { code name } }"
LISTING = "{ enterprises(first: 5) { totalCount } }"


def ask(client: TestClient, token: str, query: str, variables: dict[str, str]) -> object:
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}", "x-purpose": "insurance-check"},
    )
    return response.json()


def token(client: TestClient, client_id: str, secret: str) -> str:
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    return str(response.json()["access_token"])


def run() -> dict[str, object]:
    out: dict[str, object] = {"agencies": [c.name for c in discover()]}
    out["migrate"] = main(["migrate"])
    out["seed"] = main(["seed", "--scale", "demo"])
    settings = HubSettings()
    with sqlite3.connect(settings.database_url("housing").removeprefix("sqlite:///")) as db:
        insured, other = (
            db.execute(
                "SELECT uscc FROM housing_enterprise WHERE (region_code LIKE '4101%') = ? "
                "AND uscc IN (SELECT contractor_uscc FROM housing_project) ORDER BY uscc",
                (flag,),
            ).fetchone()[0]
            for flag in (1, 0)
        )
        insured_by = (
            "SELECT p.code FROM housing_project p"
            " JOIN housing_enterprise c ON c.uscc = p.contractor_uscc"
            " JOIN housing_enterprise b ON b.uscc = p.builder_uscc"
            " WHERE (c.region_code LIKE '4101%' OR b.region_code LIKE '4101%') = ? ORDER BY p.code"
        )
        project_in, project_out = (db.execute(insured_by, (flag,)).fetchone()[0] for flag in (1, 0))
    store = build_auth_store(settings)
    fund = store.add_client(
        "fund-zhengzhou",
        Grant(
            "insurance",
            ("insurance:read", "enterprise:read", "project:read"),
            ("insurance-check",),
            limits={"funds": ("F4101",)},
        ),
    )
    plain = store.add_client(
        "plain", Grant("housing", ("enterprise:read", "project:read"), ("insurance-check",))
    )
    try:
        store.add_client(
            "bad", Grant("insurance", ("insurance:read",), ("p",), limits={"funds": ("Z1",)})
        )
    except Exception as error:  # the fund's own check refuses a malformed value
        out["malformed limit"] = str(error)
    with TestClient(create_app(settings)) as client:
        fund_token, plain_token = (
            token(client, "fund-zhengzhou", fund),
            token(client, "plain", plain),
        )
        out["fund sees its insured enterprise"] = ask(
            client, fund_token, ENTERPRISE, {"uscc": insured}
        )
        out["fund does not see another"] = ask(client, fund_token, ENTERPRISE, {"uscc": other})
        out["fund sees a project it insures"] = ask(
            client, fund_token, PROJECT, {"code": project_in}
        )
        out["fund does not see another project"] = ask(
            client, fund_token, PROJECT, {"code": project_out}
        )
        out["fund cannot list"] = ask(client, fund_token, LISTING, {})
        out["plain lacks the scope"] = ask(client, plain_token, ENTERPRISE, {"uscc": insured})
    out["sdl"] = [
        line.strip() for line in hub_schema().as_str().splitlines() if "insurance" in line
    ]
    out["keys"] = {"insured": insured, "other": other, "in": project_in, "out": project_out}
    return out


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(run(), ensure_ascii=False), encoding="utf-8")
