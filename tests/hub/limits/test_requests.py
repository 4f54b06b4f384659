"""Request-level limits that need their own settings: batches when switched on, the
request timeout, and the settings read from HUB_* variables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from limits_support import LimitedHub, limited_hub

from hub.settings import HubSettings

TYPENAME = {"query": "{ __typename }"}


@pytest.fixture(scope="module")
def batching(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LimitedHub]:
    with limited_hub(tmp_path_factory.mktemp("batching"), limits={"batch_max": 2}) as running:
        yield running


def test_a_small_batch_runs_when_switched_on(batching: LimitedHub) -> None:
    response = batching.client().post("/graphql", json=[TYPENAME, TYPENAME])
    assert response.json() == [{"data": {"__typename": "Query"}}] * 2


def test_a_batch_over_the_maximum_is_refused(batching: LimitedHub) -> None:
    response = batching.client().post("/graphql", json=[TYPENAME] * 3)
    assert response.status_code == 400
    assert response.json()["error"] == "too_many_operations"
    assert response.json()["limit"] == 2


def test_a_batch_with_a_refused_operation_is_refused_whole(batching: LimitedHub) -> None:
    oversized = {"query": "# " + "a" * 21_000 + "\n{ __typename }"}
    response = batching.client().post("/graphql", json=[TYPENAME, oversized])
    assert response.status_code == 400
    assert response.json()["code"] == "DOCUMENT_TOO_LARGE"
    assert response.json()["error_description"].startswith("operation 1:")


def test_a_slow_request_is_stopped_with_request_timeout(tmp_path: Path) -> None:
    with limited_hub(tmp_path, limits={"request_timeout_seconds": 0.000_001}) as running:
        response = running.client().post(
            "/graphql", json={"query": '{ project(code: "x") { code } }'}
        )
    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "the request took longer than 1e-06 s and was stopped",
                "extensions": {"code": "REQUEST_TIMEOUT", "limit": 0.000_001},
            }
        ],
    }


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_LIMITS_MAX_DEPTH", "7")
    monkeypatch.setenv("HUB_LIMITS_BATCH_MAX", "3")
    monkeypatch.setenv("HUB_RATE_LIMITS", '{"default": "20/s burst 40", "bank": "5/s"}')
    monkeypatch.setenv("HUB_TRUSTED_DOCUMENTS", "required")
    settings = HubSettings()
    assert (settings.limits.max_depth, settings.limits.batch_max) == (7, 3)
    assert settings.limits.max_cost == 200_000  # the rest of the block keeps its defaults
    assert settings.rate_limits == {"default": "20/s burst 40", "bank": "5/s"}
    assert settings.trusted_documents == "required"
