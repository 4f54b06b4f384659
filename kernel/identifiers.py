"""The keys that join agencies' records: ID numbers, credit codes and court case numbers.

Every agency types these by hand, so the hub checks them at the door (a typo would
otherwise silently match nobody) and builds valid ones for the synthetic world.
"""

from __future__ import annotations

import datetime
import operator
import re
from typing import Final

from kernel.errors import BadUserInput
from kernel.regions import PROVINCE_ABBREVIATIONS


class InvalidIdentifier(BadUserInput, ValueError):
    """A key is malformed; the message says exactly what is wrong so the caller can fix it."""


# --- 公民身份号码, GB 11643 -------------------------------------------------------------

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS: Final = "10X98765432"
_ID_ZEROS: Final = ord("0") * sum(_ID_WEIGHTS)


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise InvalidIdentifier(f"ID number {first17}: expected 17 digits before the check")
    # ASCII digits, so each byte is its digit plus ord("0"): a sixth of the time of int()
    # per character, for every ID number a request or an import names.
    total = sum(map(operator.mul, first17.encode(), _ID_WEIGHTS)) - _ID_ZEROS
    return _ID_CHECK_CHARS[total % 11]


def validate_id_number(value: str) -> str:
    """The normalised ID number (trimmed, upper-case X), or InvalidIdentifier saying why not."""
    number = value.strip()
    if len(number) != 18:
        raise InvalidIdentifier(f"ID number {number}: expected 18 characters, got {len(number)}")
    number = number[:17] + number[17].upper()
    if not (number[:17].isascii() and number[:17].isdigit()):  # which one, only then
        for position, char in enumerate(number[:17], start=1):
            if not ("0" <= char <= "9"):
                raise InvalidIdentifier(
                    f"ID number {number}: character {position} should be a digit, got '{char}'"
                )
    birth = number[6:14]
    try:
        born = datetime.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        raise InvalidIdentifier(f"ID number {number}: birth date {birth} does not exist") from None
    if born > datetime.date.today():
        raise InvalidIdentifier(f"ID number {number}: birth date {birth} is in the future")
    expected = id_number_check_char(number[:17])
    if number[17] != expected:
        raise InvalidIdentifier(
            f"ID number {number}: check character should be '{expected}', got '{number[17]}'"
        )
    return number


def make_id_number(region_code: str, birth: datetime.date, sequence: int) -> str:
    """A valid ID number; `sequence` is the 3-digit order code, odd for men."""
    if len(region_code) != 6 or not region_code.isascii() or not region_code.isdigit():
        raise ValueError(f"region code {region_code!r}: expected 6 digits")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence {sequence}: expected 0 to 999")
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return validate_id_number(first17 + id_number_check_char(first17))


def id_number_birth_date(id_number: str) -> datetime.date:
    """The birth date encoded in a (valid) ID number."""
    number = validate_id_number(id_number)
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def id_number_is_male(id_number: str) -> bool:
    """Whether a (valid) ID number belongs to a man: its order code is odd."""
    return int(validate_id_number(id_number)[16]) % 2 == 1


def mask_id_number(id_number: str) -> str:
    """The display form without the full-identity scope: first 3 and last 4 characters."""
    if len(id_number) <= 7:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


def mask_account_number(account: str) -> str:
    """The display form of a bank account number: only the last 4 characters."""
    return "*" * max(len(account) - 4, 0) + account[-4:]


# --- 统一社会信用代码, GB 32100 (with the GB 11714 organisation code inside) --------------

USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_CODE_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
# New organisation codes (since 2015) start with "MA"; the 6 characters after it come from
# an affine bijection of the serial over USCC_ALPHABET**6, so codes look scattered, not counted.
_ORG_CODE_PREFIX: Final = "MA"
_ORG_SERIAL_SPACE: Final = len(USCC_ALPHABET) ** 6
_ORG_SERIAL_MULTIPLIER: Final = 387_420_489  # 3**18: coprime with 31**6, so a bijection
_ORG_SERIAL_OFFSET: Final = 123_456_789


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    if len(first17) != 17:
        raise InvalidIdentifier(f"credit code {first17}: expected 17 characters before the check")
    _require_uscc_alphabet(first17)
    total = sum(
        USCC_ALPHABET.index(char) * weight
        for char, weight in zip(first17, _USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _require_uscc_alphabet(code: str) -> None:
    """Name the first character outside the alphabet: letters I, O, S, V, Z look like digits."""
    for position, char in enumerate(code, start=1):
        if char not in USCC_ALPHABET:
            raise InvalidIdentifier(
                f"credit code {code}: character {position} '{char}' is not allowed"
                f" (allowed: {USCC_ALPHABET})"
            )


def validate_uscc(value: str) -> str:
    """The normalised credit code (trimmed, upper case), or InvalidIdentifier saying why not."""
    code = value.strip().upper()
    if len(code) != 18:
        raise InvalidIdentifier(f"credit code {code}: expected 18 characters, got {len(code)}")
    _require_uscc_alphabet(code)
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier(
            f"credit code {code}: check character should be '{expected}', got '{code[17]}'"
        )
    return code


def _organization_code(serial: int) -> str:
    """A GB 11714 organisation code (8 body characters and a check) unique to `serial`."""
    if not 0 <= serial < _ORG_SERIAL_SPACE:
        raise ValueError(f"serial {serial}: expected 0 to {_ORG_SERIAL_SPACE - 1}")
    scrambled = (serial * _ORG_SERIAL_MULTIPLIER + _ORG_SERIAL_OFFSET) % _ORG_SERIAL_SPACE
    tail = ""
    for _ in range(6):
        scrambled, digit = divmod(scrambled, len(USCC_ALPHABET))
        tail = USCC_ALPHABET[digit] + tail
    body = _ORG_CODE_PREFIX + tail
    total = sum(
        int(char, 36) * weight for char, weight in zip(body, _ORG_CODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(
    region_code: str, serial: int, registration_authority: str = "9", category: str = "1"
) -> str:
    """A valid credit code; distinct serials (0 to 31**6 - 1) give distinct codes."""
    if len(region_code) != 6 or not region_code.isascii() or not region_code.isdigit():
        raise ValueError(f"region code {region_code!r}: expected 6 digits")
    for label, char in (("registration authority", registration_authority), ("category", category)):
        if len(char) != 1 or char not in USCC_ALPHABET:
            raise ValueError(f"{label} {char!r}: expected one character of {USCC_ALPHABET}")
    first17 = registration_authority + category + region_code + _organization_code(serial)
    return first17 + uscc_check_char(first17)


# --- 案号 (court case numbers) ----------------------------------------------------------

CASE_TYPES: Final = ("民初", "民终", "民诉前调", "执")
_COURT_ABBREVIATIONS: Final = frozenset(PROVINCE_ABBREVIATIONS.values())
_CASE_EXAMPLE: Final = "（2024）豫0183民初1234号"
# Loose on the province and case type so that a wrong one gets its own message.
_CASE_NUMBER: Final = re.compile(r"（(\d{4})）(\D)(\d{4})(\D+?)([1-9]\d{0,5})号", re.ASCII)


def validate_case_number(value: str) -> str:
    """The normalised case number (full-width brackets), or InvalidIdentifier saying why not."""
    number = value.strip().replace("(", "（").replace(")", "）")
    match = _CASE_NUMBER.fullmatch(number)
    if match is None:
        raise InvalidIdentifier(f"case number '{number}': expected the form {_CASE_EXAMPLE}")
    province, case_type = match.group(2), match.group(4)
    if province not in _COURT_ABBREVIATIONS:
        raise InvalidIdentifier(
            f"case number '{number}': '{province}' is not a province abbreviation;"
            f" expected the form {_CASE_EXAMPLE}"
        )
    if case_type not in CASE_TYPES:
        raise InvalidIdentifier(
            f"case number '{number}': case type '{case_type}' should be one of"
            f" {', '.join(CASE_TYPES)}; expected the form {_CASE_EXAMPLE}"
        )
    return number


def make_case_number(year: int, court_code: str, case_type: str, sequence: int) -> str:
    """A valid case number such as （2024）豫0183民初1234号 for a court code such as 豫0183."""
    return validate_case_number(f"（{year:04d}）{court_code}{case_type}{sequence}号")
