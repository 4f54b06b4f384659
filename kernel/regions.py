"""Administrative divisions (GB/T 2260) the hub's data lives in, and their court abbreviations.

Projects carry the 6-digit code of their site district, workers the code of their household
registration county (the first 6 digits of the ID number); dashboards group by both, and court
case numbers name the court by province abbreviation plus the district's last 4 digits.
Only current codes known for certain are listed; anything else resolves to None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Region:
    """A county-level division: district, county or county-level city."""

    code: str
    name: str
    city: str
    province: str


# Provinces in the seed documents' measures and their big cities' urban districts.
SITE_DISTRICTS: Final[tuple[Region, ...]] = (
    Region("410102", "中原区", "郑州市", "河南省"),
    Region("410103", "二七区", "郑州市", "河南省"),
    Region("410104", "管城回族区", "郑州市", "河南省"),
    Region("410105", "金水区", "郑州市", "河南省"),
    Region("410183", "新密市", "郑州市", "河南省"),
    Region("410184", "新郑市", "郑州市", "河南省"),
    Region("340202", "镜湖区", "芜湖市", "安徽省"),
    Region("340207", "鸠江区", "芜湖市", "安徽省"),
    Region("320102", "玄武区", "南京市", "江苏省"),
    Region("320105", "建邺区", "南京市", "江苏省"),
    Region("320106", "鼓楼区", "南京市", "江苏省"),
    Region("320115", "江宁区", "南京市", "江苏省"),
    Region("320213", "梁溪区", "无锡市", "江苏省"),
    Region("320214", "新吴区", "无锡市", "江苏省"),
    Region("330105", "拱墅区", "杭州市", "浙江省"),
    Region("330106", "西湖区", "杭州市", "浙江省"),
    Region("330108", "滨江区", "杭州市", "浙江省"),
    Region("330212", "鄞州区", "宁波市", "浙江省"),
    Region("500103", "渝中区", "重庆市", "重庆市"),
    Region("500105", "江北区", "重庆市", "重庆市"),
    Region("500112", "渝北区", "重庆市", "重庆市"),
    Region("520102", "南明区", "贵阳市", "贵州省"),
    Region("520103", "云岩区", "贵阳市", "贵州省"),
    Region("520115", "观山湖区", "贵阳市", "贵州省"),
    Region("430102", "芙蓉区", "长沙市", "湖南省"),
    Region("430103", "天心区", "长沙市", "湖南省"),
    Region("430104", "岳麓区", "长沙市", "湖南省"),
    Region("420106", "武昌区", "武汉市", "湖北省"),
    Region("420111", "洪山区", "武汉市", "湖北省"),
    Region("440605", "南海区", "佛山市", "广东省"),
)

# Rural counties with large outflows of construction labour.
ORIGIN_COUNTIES: Final[tuple[Region, ...]] = (
    Region("341221", "临泉县", "阜阳市", "安徽省"),
    Region("341222", "太和县", "阜阳市", "安徽省"),
    Region("341225", "阜南县", "阜阳市", "安徽省"),
    Region("341226", "颍上县", "阜阳市", "安徽省"),
    Region("341621", "涡阳县", "亳州市", "安徽省"),
    Region("341623", "利辛县", "亳州市", "安徽省"),
    Region("411522", "光山县", "信阳市", "河南省"),
    Region("411525", "固始县", "信阳市", "河南省"),
    Region("411527", "淮滨县", "信阳市", "河南省"),
    Region("411528", "息县", "信阳市", "河南省"),
    Region("411624", "沈丘县", "周口市", "河南省"),
    Region("411625", "郸城县", "周口市", "河南省"),
    Region("411627", "太康县", "周口市", "河南省"),
    Region("411729", "新蔡县", "驻马店市", "河南省"),
    Region("511623", "邻水县", "广安市", "四川省"),
    Region("500235", "云阳县", "重庆市", "重庆市"),
    Region("500236", "奉节县", "重庆市", "重庆市"),
    Region("500237", "巫山县", "重庆市", "重庆市"),
    Region("500238", "巫溪县", "重庆市", "重庆市"),
    Region("431124", "道县", "永州市", "湖南省"),
    Region("431126", "宁远县", "永州市", "湖南省"),
    Region("360730", "宁都县", "赣州市", "江西省"),
    Region("360731", "于都县", "赣州市", "江西省"),
    Region("321322", "沭阳县", "宿迁市", "江苏省"),
    Region("321323", "泗阳县", "宿迁市", "江苏省"),
    Region("520524", "织金县", "毕节市", "贵州省"),
    Region("520525", "纳雍县", "毕节市", "贵州省"),
)

# The one-character abbreviation courts put in case numbers, by the code's first 2 digits.
PROVINCE_ABBREVIATIONS: Final[dict[str, str]] = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙",
    "21": "辽", "22": "吉", "23": "黑",
    "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁",
    "41": "豫", "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼",
    "50": "渝", "51": "川", "52": "黔", "53": "云", "54": "藏",
    "61": "陕", "62": "甘", "63": "青", "64": "宁", "65": "新",
}  # fmt: skip

_REGIONS: Final[dict[str, Region]] = {r.code: r for r in SITE_DISTRICTS + ORIGIN_COUNTIES}
# Province ('PP0000') and city ('PPCC00') codes of the regions above. A municipality's
# city-level codes (500100 districts, 500200 counties) resolve to the municipality itself.
_HIGHER_LEVEL_NAMES: Final[dict[str, str]] = {
    **{r.code[:4] + "00": r.city for r in _REGIONS.values()},
    **{r.code[:2] + "0000": r.province for r in _REGIONS.values()},
}


def region(code: str) -> Region | None:
    """The county-level region with this code, if it is one the hub knows."""
    return _REGIONS.get(code)


def region_name(code: str) -> str | None:
    """The name of a known county-, city- or province-level code."""
    known = _REGIONS.get(code)
    return known.name if known is not None else _HIGHER_LEVEL_NAMES.get(code)


def court_code(district_code: str) -> str:
    """The court part of a case number: '410183' -> '豫0183'."""
    abbreviation = PROVINCE_ABBREVIATIONS.get(district_code[:2])
    if len(district_code) != 6 or not district_code.isascii() or not district_code.isdigit():
        raise ValueError(f"district code {district_code!r}: expected 6 digits")
    if abbreviation is None:
        raise ValueError(f"district code {district_code!r}: no province starts with its 2 digits")
    return abbreviation + district_code[2:]
