"""Realistic Chinese names and addresses for the synthetic world.

Demos and tests read like real records only if names do: surnames follow their real
frequency, given names their gender, enterprises and projects the naming habits of the
trade. Everything draws from the `random.Random` passed in, so a seed gives the same world.
"""

from __future__ import annotations

import random
from itertools import accumulate
from typing import Final

from kernel.regions import Region

TRADES: Final[tuple[str, ...]] = (
    "钢筋工",
    "木工",
    "混凝土工",
    "砌筑工",
    "架子工",
    "电工",
    "焊工",
    "抹灰工",
    "油漆工",
    "防水工",
)

# Share of the population in per cent (national household-registration statistics, rounded).
_SURNAME_WEIGHTS: Final[dict[str, float]] = {
    "王": 7.1, "李": 7.0, "张": 6.5, "刘": 5.3, "陈": 4.5, "杨": 3.1, "黄": 2.3, "赵": 2.0,
    "吴": 2.0, "周": 1.9, "徐": 1.5, "孙": 1.5, "马": 1.3, "朱": 1.2, "胡": 1.2, "郭": 1.2,
    "何": 1.0, "高": 1.0, "林": 1.0, "罗": 0.9, "郑": 0.9, "梁": 0.8, "谢": 0.7, "宋": 0.7,
    "唐": 0.7, "许": 0.7, "韩": 0.6, "冯": 0.6, "邓": 0.6, "曹": 0.6, "彭": 0.6, "曾": 0.6,
    "肖": 0.5, "田": 0.5, "董": 0.5, "袁": 0.5, "潘": 0.5, "于": 0.5, "蒋": 0.5, "蔡": 0.5,
    "余": 0.5, "杜": 0.4, "叶": 0.4, "程": 0.4, "苏": 0.4, "魏": 0.4, "吕": 0.4, "丁": 0.4,
    "任": 0.4, "沈": 0.4, "欧阳": 0.03, "司马": 0.005, "上官": 0.005, "诸葛": 0.005,
}  # fmt: skip
_SURNAMES: Final = tuple(_SURNAME_WEIGHTS)
_SURNAME_CUMULATIVE: Final = tuple(accumulate(_SURNAME_WEIGHTS.values()))

_MALE_SINGLE: Final = "伟强军勇杰磊涛斌刚平辉明超波鹏峰华飞亮林东龙海"
_MALE_DOUBLE: Final = (
    "建国", "建军", "建华", "国强", "志强", "志刚", "海涛", "永刚", "永强", "红军", "卫东",
    "德明", "文杰", "俊杰", "浩然", "宇航", "晓东", "小龙", "春生", "春雷", "长青", "金龙",
    "振华", "国庆", "新民", "学军", "保国", "立新", "大勇", "新华", "明亮", "朝阳", "向东",
    "红旗", "庆丰", "子豪", "家伟", "志伟", "少华", "利民",
)  # fmt: skip
_FEMALE_SINGLE: Final = "芳娜敏静丽艳娟霞燕玲萍红梅琳慧莉洁兰英娥"
_FEMALE_DOUBLE: Final = (
    "秀英", "桂英", "秀兰", "玉兰", "桂兰", "凤英", "丽娟", "晓燕", "春梅", "海燕", "雪梅",
    "丽华", "红梅", "美玲", "淑芬", "小红", "玉梅", "金凤", "雅婷", "欣怡", "婷婷", "丹丹",
    "秀芳", "翠萍", "春花", "晓丽",
)  # fmt: skip

# Trade names (字号) of the kind enterprises register under.
_TRADE_NAMES: Final = (
    "宏远", "中天", "鑫盛", "华建", "恒达", "永安", "建兴", "金鼎", "泰和", "鸿基",
    "中联", "润城", "盛世", "安泰", "瑞丰", "华夏", "天成", "广厦", "正大", "兴业",
    "鼎盛", "宏基", "诚信", "远航", "德润", "金诚", "隆盛", "嘉禾", "振兴", "方圆",
)  # fmt: skip
_ENTERPRISE_SUFFIXES: Final[dict[str, tuple[str, ...]]] = {
    "builder": ("置业有限公司", "房地产开发有限公司", "实业有限公司"),
    "general_contractor": ("建设工程有限公司", "建设集团有限公司", "建筑工程有限公司"),
    "specialty_contractor": (
        "钢结构工程有限公司",
        "幕墙工程有限公司",
        "建筑装饰工程有限公司",
        "防水工程有限公司",
        "机电安装工程有限公司",
        "消防工程有限公司",
    ),
    "labour_subcontractor": ("劳务有限公司", "建筑劳务有限公司"),
    "professional": ("建筑专业作业有限公司",),
}

_ESTATES: Final = (
    "锦绣华庭", "翰林苑", "阳光城", "御景湾", "书香名苑", "滨河花园", "世纪城", "幸福里",
    "和谐家园", "金色港湾", "凤凰城", "盛世华府", "紫荆花园", "观澜府", "东方明珠苑",
)  # fmt: skip
_PHASES: Final = ("", "一期", "二期", "三期")
_ORDINALS: Final = "一二三四五"
_HOSPITAL_BUILDINGS: Final = ("门诊楼", "住院楼", "综合楼", "医技楼")
_SCHOOLS: Final = ("实验中学", "第一初级中学", "第二小学", "第三小学", "职业技术学校")
_SCHOOL_BUILDINGS: Final = ("教学楼", "综合楼", "学生宿舍楼", "体育馆")
_ROADS: Final = (
    "人民路", "建设路", "解放路", "中山路", "文化路", "新华路", "和平路", "青年路",
    "长江路", "黄河路", "西大街", "东大街", "南环路", "北环路", "工业路", "学院路",
)  # fmt: skip
_SUBDISTRICTS: Final = ("城关", "人民路", "建设路", "解放路", "文化路", "东风路", "新华路", "南湖")
_TOWNS: Final = ("城关镇", "新集镇", "老城镇", "王店乡", "李集镇", "张湾乡", "陈庄镇", "高庙乡")
_VILLAGE_ENDINGS: Final = "庄营寨湾楼岗"


def _surname(rng: random.Random) -> str:
    return rng.choices(_SURNAMES, cum_weights=_SURNAME_CUMULATIVE)[0]


def person_name(rng: random.Random, male: bool) -> str:
    """A full name: a frequency-weighted surname and a one- or two-character given name."""
    if rng.random() < 0.3:
        given = rng.choice(_MALE_SINGLE if male else _FEMALE_SINGLE)
    else:
        given = rng.choice(_MALE_DOUBLE if male else _FEMALE_DOUBLE)
    return _surname(rng) + given


def named_male(full_name: str) -> bool | None:
    """Whether a name from `person_name` carries a man's given name (None: from neither pool)."""
    for given in (full_name[-2:], full_name[-1:]):
        if given in _MALE_DOUBLE or (len(given) == 1 and given in _MALE_SINGLE):
            return True
        if given in _FEMALE_DOUBLE or (len(given) == 1 and given in _FEMALE_SINGLE):
            return False
    return None


def enterprise_name(rng: random.Random, city: str, kind: str) -> str:
    """A registered company name of the given kind (see the domain's enterprise types)."""
    suffixes = _ENTERPRISE_SUFFIXES.get(kind)
    if suffixes is None:
        kinds = ", ".join(_ENTERPRISE_SUFFIXES)
        raise ValueError(f"enterprise kind {kind!r}: expected one of {kinds}")
    # Labour companies usually keep the full city name (郑州市鑫盛劳务有限公司), others drop 市.
    place = city if kind == "labour_subcontractor" else city.removesuffix("市")
    return place + rng.choice(_TRADE_NAMES) + rng.choice(suffixes)


def project_name(rng: random.Random, district: str) -> str:
    """A project name as on a construction permit; housing estates are the commonest."""
    pattern = rng.choices(("estate", "resettlement", "hospital", "school"), weights=(6, 2, 1, 1))[0]
    if pattern == "estate":
        kind = rng.choice(("住宅工程", "住宅小区项目", "商住楼项目"))
        return f"{district}{rng.choice(_ESTATES)}{rng.choice(_PHASES)}{kind}"
    if pattern == "resettlement":
        village = _surname(rng) + rng.choice(_VILLAGE_ENDINGS)
        return f"{district}{village}村棚户区改造安置房项目"
    if pattern == "hospital":
        building = rng.choice(_HOSPITAL_BUILDINGS)
        return f"{district}第{rng.choice(_ORDINALS)}人民医院{building}项目"
    return f"{district}{rng.choice(_SCHOOLS)}{rng.choice(_SCHOOL_BUILDINGS)}工程"


def team_name(trade: str, leader_surname: str) -> str:
    """A work team named after its leader and trade: 王钢筋班组, 李木工班组."""
    # Drop the trailing 工 only where the rest still names the trade: 钢筋工 -> 钢筋, 木工 stays.
    work = trade.removesuffix("工") if len(trade) > 2 else trade
    return f"{leader_surname}{work}班组"


def street_address(rng: random.Random, district: Region) -> str:
    """A full address: a flat in a town for districts and cities, a village house for counties."""
    if district.name.endswith("县"):
        village = _surname(rng) + rng.choice(_VILLAGE_ENDINGS)
        group, house = rng.randint(1, 12), rng.randint(1, 120)
        return f"{district.name}{rng.choice(_TOWNS)}{village}村{group}组{house}号"
    subdistrict = rng.choice(_SUBDISTRICTS)
    number, building, unit = rng.randint(1, 299), rng.randint(1, 30), rng.randint(1, 4)
    room = rng.randint(1, 33) * 100 + rng.randint(1, 4)
    return (
        f"{district.name}{subdistrict}街道{rng.choice(_ROADS)}{number}号"
        f"{building}栋{unit}单元{room}室"
    )
