"""Dashboards' additions to the graph: warning roll-ups at any region level, a range of
months in one query, and the project list most severe first (on the planted stories)."""

from __future__ import annotations

from conftest import RunningHub

ROLLUP = """query($level: RegionLevel!) {
  warningRollup(month: "2026-10", regionCodePrefix: "41", level: $level) {
    regionCode regionName none blue yellow red total } }"""


def test_the_rollup_counts_at_each_region_level(hub: RunningHub) -> None:
    by_level = {
        level: hub.data(ROLLUP, {"level": level})["warningRollup"]
        for level in ("PROVINCE", "CITY", "DISTRICT")
    }
    [province] = by_level["PROVINCE"]
    assert (province["regionCode"], province["regionName"]) == ("41", "河南省")
    city = next(r for r in by_level["CITY"] if r["regionCode"] == "4101")
    assert city["regionName"] == "郑州市"
    xinmi = next(r for r in by_level["DISTRICT"] if r["regionCode"] == "410183")
    assert (xinmi["red"], xinmi["yellow"], xinmi["blue"], xinmi["none"]) == (1, 1, 1, 1)
    for level in ("PROVINCE", "CITY"):
        assert sum(r["total"] for r in by_level[level]) == sum(
            r["total"] for r in by_level["DISTRICT"]
        )
    summary = hub.data(
        '{ warningSummary(month: "2026-10", regionCodePrefix: "41") { regionCode red total } }'
    )["warningSummary"]
    assert summary == [
        {"regionCode": r["regionCode"], "red": r["red"], "total": r["total"]}
        for r in by_level["DISTRICT"]
    ]


def test_a_trend_is_one_query_for_a_range_of_months(hub: RunningHub) -> None:
    trend = hub.data(
        '{ warningTrend(from: "2025-11", to: "2026-10", regionCodePrefix: "410183") {'
        " month red total regions { regionCode red } } }"
    )["warningTrend"]
    assert [m["month"] for m in trend][0::11] == ["2025-11", "2026-10"]
    assert len(trend) == 12
    assert trend[-1]["red"] == 1
    assert trend[-1]["regions"] == [{"regionCode": "410183", "red": 1}]


def test_a_trend_longer_than_two_years_or_backwards_is_bad_input(hub: RunningHub) -> None:
    for span in ('from: "2020-01", to: "2026-10"', 'from: "2026-10", to: "2026-01"'):
        body = hub.query(f"{{ warningTrend({span}) {{ month }} }}")
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_projects_sorted_by_colour_page_most_severe_first(hub: RunningHub) -> None:
    query = """query($after: String) { projectWarnings(month: "2026-10", regionCodePrefix: "410183",
      orderBy: SEVERITY, first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { level project { code } } } }"""
    first = hub.data(query)["projectWarnings"]
    assert [n["level"] for n in first["nodes"]] == ["RED", "YELLOW"]
    assert first["totalCount"] == 4
    second = hub.data(query, {"after": first["pageInfo"]["endCursor"]})["projectWarnings"]
    assert [n["level"] for n in second["nodes"]] == ["BLUE", "NONE"]
    assert second["pageInfo"]["hasNextPage"] is False
