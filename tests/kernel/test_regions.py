"""Region codes resolve to the right names, and district codes to the right court codes."""

from __future__ import annotations

import datetime

import pytest

from kernel.identifiers import make_case_number, make_id_number, validate_case_number
from kernel.regions import (
    ORIGIN_COUNTIES,
    PROVINCE_ABBREVIATIONS,
    SITE_DISTRICTS,
    Region,
    court_code,
    region,
    region_name,
)

ALL_REGIONS = SITE_DISTRICTS + ORIGIN_COUNTIES


def test_codes_are_six_digits_and_unique() -> None:
    codes = [r.code for r in ALL_REGIONS]
    assert all(len(code) == 6 and code.isascii() and code.isdigit() for code in codes)
    assert len(set(codes)) == len(codes)
    assert len(SITE_DISTRICTS) >= 25
    assert len(ORIGIN_COUNTIES) >= 20


def test_site_districts_are_urban_and_origin_counties_rural() -> None:
    assert all(r.name.endswith(("区", "市")) for r in SITE_DISTRICTS)
    assert all(r.name.endswith("县") for r in ORIGIN_COUNTIES)


@pytest.mark.parametrize(
    ("code", "name", "city", "province"),
    [
        ("410183", "新密市", "郑州市", "河南省"),
        ("410105", "金水区", "郑州市", "河南省"),
        ("340207", "鸠江区", "芜湖市", "安徽省"),
        ("320115", "江宁区", "南京市", "江苏省"),
        ("320214", "新吴区", "无锡市", "江苏省"),
        ("330108", "滨江区", "杭州市", "浙江省"),
        ("500112", "渝北区", "重庆市", "重庆市"),
        ("520103", "云岩区", "贵阳市", "贵州省"),
        ("430103", "天心区", "长沙市", "湖南省"),
        ("341221", "临泉县", "阜阳市", "安徽省"),
        ("411527", "淮滨县", "信阳市", "河南省"),
        ("411625", "郸城县", "周口市", "河南省"),
        ("511623", "邻水县", "广安市", "四川省"),
        ("500236", "奉节县", "重庆市", "重庆市"),
        ("431126", "宁远县", "永州市", "湖南省"),
        ("360730", "宁都县", "赣州市", "江西省"),
        ("321322", "沭阳县", "宿迁市", "江苏省"),
    ],
)
def test_region_lookup(code: str, name: str, city: str, province: str) -> None:
    assert region(code) == Region(code, name, city, province)
    assert region_name(code) == name


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("410000", "河南省"),
        ("410100", "郑州市"),
        ("411500", "信阳市"),
        ("520000", "贵州省"),
        ("520100", "贵阳市"),
        ("500000", "重庆市"),
        ("500100", "重庆市"),
        ("320200", "无锡市"),
    ],
)
def test_region_name_resolves_provinces_and_cities(code: str, name: str) -> None:
    assert region_name(code) == name
    assert region(code) is None


@pytest.mark.parametrize("code", ["999999", "410199", "110000", "", "4101830"])
def test_unknown_codes_resolve_to_none(code: str) -> None:
    assert region(code) is None
    assert region_name(code) is None


def test_all_mainland_provinces_have_a_distinct_abbreviation() -> None:
    assert len(PROVINCE_ABBREVIATIONS) == 31
    assert len(set(PROVINCE_ABBREVIATIONS.values())) == 31
    assert PROVINCE_ABBREVIATIONS["41"] == "豫"
    assert PROVINCE_ABBREVIATIONS["52"] == "黔"
    assert PROVINCE_ABBREVIATIONS["50"] == "渝"
    assert PROVINCE_ABBREVIATIONS["53"] == "云"
    assert PROVINCE_ABBREVIATIONS["51"] == "川"
    assert "贵" not in PROVINCE_ABBREVIATIONS.values()
    assert all(r.code[:2] in PROVINCE_ABBREVIATIONS for r in ALL_REGIONS)


@pytest.mark.parametrize(
    ("district", "court"),
    [("410183", "豫0183"), ("520102", "黔0102"), ("500112", "渝0112"), ("330106", "浙0106")],
)
def test_court_code(district: str, court: str) -> None:
    assert court_code(district) == court


@pytest.mark.parametrize(
    ("district", "message"),
    [("41018", "expected 6 digits"), ("41018X", "expected 6 digits"), ("990101", "province")],
)
def test_court_code_refuses_bad_district_codes(district: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        court_code(district)


@pytest.mark.parametrize("site", SITE_DISTRICTS, ids=lambda r: r.code)
def test_every_site_court_gives_valid_case_numbers(site: Region) -> None:
    number = make_case_number(2024, court_code(site.code), "民初", 1)
    assert validate_case_number(number) == number


@pytest.mark.parametrize("county", ORIGIN_COUNTIES, ids=lambda r: r.code)
def test_id_numbers_carry_the_household_registration_county(county: Region) -> None:
    number = make_id_number(county.code, datetime.date(1980, 1, 1), 101)
    assert region(number[:6]) == county
