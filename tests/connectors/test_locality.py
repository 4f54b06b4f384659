"""Proof of locality: a sixth agency from a temporary package — tables and their migration
history, loaders, fields on Enterprise, a scope and a kind of row limit of its own, seed
rows — composes, migrates, seeds, answers, is scoped and jurisdiction-bound, with no
other file changed. It runs in its own process, found through HUB_AGENCY_PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("locality")
    shutil.copytree(HERE / "outside" / "insurance", where / "agencies" / "insurance")
    environment = {
        **os.environ,
        "HUB_AGENCY_PATH": str(where / "agencies"),
        "HUB_DATA_DIR": str(where / "data"),
        "AUTHLIB_INSECURE_TRANSPORT": "1",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, str(HERE / "locality_driver.py"), str(where / "answers.json")],
        cwd=where,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answers: dict[str, Any] = json.loads((where / "answers.json").read_text(encoding="utf-8"))
    return answers


def test_the_sixth_agency_is_found_migrated_and_seeded(answers: dict[str, Any]) -> None:
    assert answers["agencies"] == ["bank", "court", "housing", "hr", "insurance", "public_security"]
    assert (answers["migrate"], answers["seed"]) == (0, 0)


def test_its_fields_print_with_its_scope(answers: dict[str, Any]) -> None:
    assert (
        'insurancePolicies: [InsurancePolicy!] @requiresScopes(scopes: [["insurance:read"]])'
        in (answers["sdl"])
    )


def test_its_row_limit_binds_what_a_fund_sees(answers: dict[str, Any]) -> None:
    keys = answers["keys"]
    seen = answers["fund sees its insured enterprise"]["data"]["enterprise"]
    assert seen["uscc"] == keys["insured"]
    assert seen["insurancePolicies"] == [{"fundCode": "F4101"}]
    assert answers["fund does not see another"] == {"data": {"enterprise": None}}
    assert answers["fund sees a project it insures"]["data"]["project"]["code"] == keys["in"]
    assert answers["fund does not see another project"] == {"data": {"project": None}}


def test_lists_it_cannot_bound_are_refused(answers: dict[str, Any]) -> None:
    [error] = answers["fund cannot list"]["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "funds" in error["message"]


def test_its_scope_is_enforced(answers: dict[str, Any]) -> None:
    answer = answers["plain lacks the scope"]
    assert answer["data"]["enterprise"]["insurancePolicies"] is None
    [error] = answer["errors"]
    assert error["extensions"]["missingScopes"] == ["insurance:read"]


def test_its_limit_values_are_checked_by_its_own_rule(answers: dict[str, Any]) -> None:
    assert "fund 'Z1': expected F and digits" in answers["malformed limit"]
