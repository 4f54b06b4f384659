"""Keys that join agencies' records: ID numbers, card numbers, credit codes, regions, case
numbers."""

from __future__ import annotations

import datetime
from typing import Final

from ingest.errors import CellWarning
from ingest.values.kinds import (
    Kind,
    Parser,
    as_text,
    memoized,
    missing_value,
    refuse,
    to_ascii,
    type_name,
)
from kernel.identifiers import (
    USCC_ALPHABET,
    InvalidIdentifier,
    uscc_check_char,
    validate_case_number,
    validate_id_number,
)
from kernel.regions import PROVINCE_ABBREVIATIONS, region_name

_ID_CHECK_CHARS: Final = "10X98765432"


def _id_number_fast(number: str, today: str) -> bool:
    """True when `number` certainly passes GB 11643 (18 ASCII chars, upper-case X).

    The weights 7, 9, 10, … are 2**(17-i) mod 11; 13 ≡ 2 (mod 11), so the weighted sum is
    2 × int(first17, 13) mod 11 — one C call instead of a Python loop. Equivalence with
    `validate_id_number` is tested property-wise.
    """
    first17 = number[:17]
    if not first17.isdigit():
        return False
    if number[17] != _ID_CHECK_CHARS[(2 * int(first17, 13)) % 11]:
        return False
    birth = number[6:14]
    if birth > today:
        return False
    try:
        datetime.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        return False
    return True


def _id_reason(number: str, today: str) -> tuple[str, str]:
    """Why an ID number fails, without repeating it (reports are shared)."""
    if len(number) != 18:
        return (
            f"an ID number has 18 characters, this one has {len(number)}",
            f"公民身份号码应为 18 位，实为 {len(number)} 位",
        )
    for position, char in enumerate(number[:17], start=1):
        if not ("0" <= char <= "9"):
            return (
                f"character {position} of an ID number must be a digit",
                f"公民身份号码第 {position} 位应为数字",
            )
    if not ("0" <= number[17] <= "9" or number[17] == "X"):
        return (
            "the last character of an ID number is a digit or X",
            "公民身份号码最后一位应为数字或 X",
        )
    birth = number[6:14]
    try:
        datetime.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        return (
            f"the birth date in the ID number ({birth}) does not exist",
            f"公民身份号码中的出生日期 {birth} 不存在",
        )
    if birth > today:
        return (
            f"the birth date in the ID number ({birth}) is in the future",
            f"公民身份号码中的出生日期 {birth} 晚于今天",
        )
    return (
        "the check character of the ID number is wrong (GB 11643); a digit may be mistyped",
        "公民身份号码校验位错误（GB 11643），可能有数字录入错误",
    )


def _digits_from_number(raw: object, what_en: str, what_zh: str) -> str | None:
    """An ID or card number that arrived as a number: exact if an int, refused if a float."""
    if type(raw) is int:
        return str(raw)
    if type(raw) is float:
        refuse(
            f"the {what_en} is stored as a number, so the spreadsheet has rounded its last"
            " digits; format the column as text and enter it again",
            f"{what_zh}被存成了数字，表格软件已截断末几位；请将该列设为文本格式后重新录入",
        )
    return None


def _make_id_number(required: bool) -> Parser:
    missing = missing_value(required)
    today = datetime.date.today().strftime("%Y%m%d")
    # birth dates already seen to exist (at most ~40,000 distinct in a working population)
    _valid_births: set[str] = set()

    def parse(raw: object) -> object:
        if type(raw) is str:
            # fast path: the GB 11643 check of `_id_number_fast`, inlined (hot: every row)
            if len(raw) == 18 and raw.isascii():
                first17 = raw[:17]
                if (
                    first17.isdigit()
                    and raw[17] == _ID_CHECK_CHARS[(2 * int(first17, 13)) % 11]
                    and raw[6:14] <= today
                    and raw[6:14] in _valid_births
                ):
                    return raw
            number = raw.strip()
            if not number:
                return missing()
        elif raw is None:
            return missing()
        else:
            digits = _digits_from_number(raw, "ID number", "公民身份号码")
            if digits is None:
                refuse(
                    f"expected an ID number, got {type_name(raw)}",
                    f"应为公民身份号码，实为 {type_name(raw)}",
                )
            number = digits
        if len(number) == 18 and number.isascii():
            if number[17] == "x":
                number = number[:17] + "X"
            if _id_number_fast(number, today):
                if len(_valid_births) < 50_000:
                    _valid_births.add(number[6:14])
                return number
        number = to_ascii(number).upper()
        try:
            return validate_id_number(number)
        except InvalidIdentifier:
            refuse(*_id_reason(number, today))

    return parse


def id_number() -> Kind:
    """公民身份号码 (GB 11643): 18 characters, valid birth date, check character."""
    return Kind(
        "id_number", "ID number (GB 11643, 18 characters)", "公民身份号码（GB 11643，18 位）",
        _make_id_number, as_text, sensitive=True,
    )  # fmt: skip


def _make_card_number(required: bool) -> Parser:
    missing = missing_value(required)

    def parse(raw: object) -> object:
        if type(raw) is str:
            number = raw.strip()
            if not number:
                return missing()
        elif raw is None:
            return missing()
        else:
            digits = _digits_from_number(raw, "card number", "银行卡号")
            if digits is None:
                refuse(
                    f"expected a card number, got {type_name(raw)}",
                    f"应为银行卡号，实为 {type_name(raw)}",
                )
            number = digits
        if 12 <= len(number) <= 30 and number.isdigit() and number.isascii():
            return number
        if not number.isdigit() or not number.isascii():
            number = to_ascii(number).replace(" ", "").replace("-", "")
        if not (number.isascii() and number.isdigit()):
            refuse("a card number has digits only", "银行卡号只能包含数字")
        if not 12 <= len(number) <= 30:
            refuse(
                f"a card or account number has 12 to 30 digits, this one has {len(number)}",
                f"银行卡号或账号应为 12 至 30 位数字，实为 {len(number)} 位",
            )
        return number

    return parse


def card_number() -> Kind:
    """Bank card or account number: 12-30 digits (spaces and dashes dropped); masked."""
    return Kind(
        "card_number", "bank card or account number (12-30 digits)",
        "银行卡号或账号（12 至 30 位数字）", _make_card_number, as_text, sensitive=True,
    )  # fmt: skip


# --- credit codes (GB 32100) -------------------------------------------------------------

_USCC_CHARS: Final = frozenset(USCC_ALPHABET)
# GB 32100 registration authorities: 1 机构编制 2 外交 3 司法行政 4 文化 5 民政 6 旅游
# 7 宗教 8 工会 9 市场监管(工商) A 中央军委改革和编制办公室 N 农业 Y 其他.
_REGISTRATION_AUTHORITIES: Final = frozenset("123456789ANY")
_ORG_CODE_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)


def _organization_code_valid(code: str) -> bool:
    """The GB 11714 check of the 9-character organisation code inside a credit code."""
    total = sum(int(c, 36) * w for c, w in zip(code[:8], _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return code[8] == {10: "X", 11: "0"}.get(check, str(check))


def _early_code_structure(code: str) -> bool:
    """Authority, region (a known province, or 100000 for central bodies), organisation code."""
    region = code[2:8]
    return (
        code[0] in _REGISTRATION_AUTHORITIES
        and region.isdigit()
        and (region[:2] in PROVINCE_ABBREVIATIONS or region == "100000")
        and _organization_code_valid(code[8:17])
    )


def _make_uscc(required: bool) -> Parser:
    missing = missing_value(required)

    def parse(raw: object) -> object:
        if type(raw) is str:
            code = raw.strip()
            if not code:
                return missing()
        elif raw is None:
            return missing()
        else:
            refuse(
                f"expected a credit code, got {type_name(raw)}",
                f"应为统一社会信用代码，实为 {type_name(raw)}",
            )
        code = to_ascii(code).upper()
        if len(code) != 18:
            refuse(
                f"a unified social credit code has 18 characters, this one has {len(code)}",
                f"统一社会信用代码应为 18 位，实为 {len(code)} 位",
            )
        for position, char in enumerate(code, start=1):
            if char not in _USCC_CHARS:
                refuse(
                    f"character {position} ('{char}') is not allowed in a credit code"
                    " (I, O, S, V and Z are never used)",
                    f"第 {position} 位“{char}”不是统一社会信用代码允许的字符"
                    "（不使用 I、O、S、V、Z）",
                )
        if code[17] == uscc_check_char(code[:17]):
            return code
        if _early_code_structure(code):
            raise CellWarning(
                code,
                "the check character is wrong but the rest of the code is well formed:"
                " accepted as an early code (some codes issued in 2015-2016 carry a wrong"
                " check character and remain legal); please confirm it",
                "校验位不符，但其余结构正确：按早期赋码接收"
                "（2015—2016 年部分代码校验位有误但仍合法），请核实",
            )
        refuse(
            "the check character of the credit code is wrong (GB 32100); a character may be"
            " mistyped",
            "统一社会信用代码校验位错误（GB 32100），可能有字符录入错误",
        )

    return parse


def uscc() -> Kind:
    """统一社会信用代码 (GB 32100); early codes failing only the check are warnings."""
    return Kind(
        "uscc", "unified social credit code (GB 32100, 18 characters)",
        "统一社会信用代码（GB 32100，18 位）", _make_uscc, as_text,
    )  # fmt: skip


# --- region codes (GB/T 2260) ------------------------------------------------------------


def _make_region(required: bool) -> Parser:
    missing = missing_value(required)

    def parse(raw: object) -> object:
        if type(raw) is str:
            code = raw.strip()
            if not code:
                return missing()
        elif raw is None:
            return missing()
        elif type(raw) is int or (type(raw) is float and raw.is_integer()):
            code = str(int(raw))
        else:
            refuse(
                f"expected a region code, got {type_name(raw)}",
                f"应为行政区划代码，实为 {type_name(raw)}",
            )
        code = to_ascii(code)
        if len(code) != 6 or not code.isdigit():
            refuse(
                "a region code (GB/T 2260) has 6 digits", "行政区划代码（GB/T 2260）应为 6 位数字"
            )
        if region_name(code) is None:
            refuse(
                f"{code} is not a GB/T 2260 region code the hub knows",
                f"{code} 不是本平台已知的行政区划代码（GB/T 2260）",
            )
        return code

    return parse


def region_code() -> Kind:
    """A 6-digit GB/T 2260 code from the hub's region list (`kernel.regions`)."""
    return Kind(
        "region_code", "region code (GB/T 2260, 6 digits)", "行政区划代码（GB/T 2260，6 位）",
        _make_region, as_text,
    )  # fmt: skip


# --- court case numbers ------------------------------------------------------------------


def _make_case_number(required: bool) -> Parser:
    missing = missing_value(required)

    def parse(raw: object) -> object:
        if raw is None or (type(raw) is str and not raw.strip()):
            return missing()
        if type(raw) is not str:
            refuse(
                f"expected a case number, got {type_name(raw)}", f"应为案号，实为 {type_name(raw)}"
            )
        try:
            return validate_case_number(to_ascii(raw.strip()))
        except InvalidIdentifier as error:
            refuse(str(error), "案号格式不正确，应如（2024）豫0183民初1234号")

    return memoized(parse)


def case_number() -> Kind:
    """案号 such as （2024）豫0183民初1234号; half-width brackets are accepted and folded."""
    return Kind(
        "case_number", "case number, e.g. （2024）豫0183民初1234号",
        "案号，如（2024）豫0183民初1234号", _make_case_number, as_text,
    )  # fmt: skip
