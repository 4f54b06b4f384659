"""Keys are checked at the door: real examples pass, every typo is caught and explained."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest

from kernel.errors import BAD_USER_INPUT
from kernel.identifiers import (
    CASE_TYPES,
    USCC_ALPHABET,
    InvalidIdentifier,
    id_number_birth_date,
    id_number_check_char,
    id_number_is_male,
    make_case_number,
    make_id_number,
    make_uscc,
    mask_account_number,
    mask_id_number,
    uscc_check_char,
    validate_case_number,
    validate_id_number,
    validate_uscc,
)

# The two worked examples printed in GB 11643-1999.
STANDARD_ID_NUMBERS = ("11010519491231002X", "440524188001010014")
# A published credit code (Fuzhou), whose organisation code M000100Y4 is also GB 11714-valid.
REAL_USCC = "91350100M000100Y43"


def _single_character_corruptions(valid: str, alphabet: str) -> list[str]:
    return [
        valid[:i] + char + valid[i + 1 :]
        for i in range(len(valid))
        for char in alphabet
        if char != valid[i]
    ]


def _organization_code_is_valid(code: str) -> bool:
    """GB 11714 check, written out independently of the module under test."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    values = ["0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".index(c) for c in code[:8]]
    check = 11 - sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return code[8] == {10: "X", 11: "0"}.get(check, str(check))


# --- ID numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("number", STANDARD_ID_NUMBERS)
def test_standard_examples_are_valid(number: str) -> None:
    assert id_number_check_char(number[:17]) == number[17]
    assert validate_id_number(number) == number


def test_the_check_character_is_gb_11643s_for_every_digit_in_every_place() -> None:
    """Against the standard's formula, written out independently: the weight 2^(18-i)
    mod 11 of each place, the check (12 - sum mod 11) mod 11, 10 written X."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    for place in range(17):
        for digit in "0123456789":
            first17 = "34122619660313901"[:place] + digit + "34122619660313901"[place + 1 :]
            check = (12 - sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11) % 11
            assert id_number_check_char(first17) == ("X" if check == 10 else str(check))


def test_id_number_is_trimmed_and_its_x_upper_cased() -> None:
    assert validate_id_number("  11010519491231002x\n") == "11010519491231002X"


@pytest.mark.parametrize("number", STANDARD_ID_NUMBERS)
def test_every_single_character_typo_in_an_id_number_is_rejected(number: str) -> None:
    for corrupted in _single_character_corruptions(number, "0123456789X"):
        with pytest.raises(InvalidIdentifier):
            validate_id_number(corrupted)


def test_invalid_identifier_is_a_value_error_reported_as_bad_user_input() -> None:
    with pytest.raises(ValueError, match="check character") as caught:
        validate_id_number("11010519491231002Y")
    assert isinstance(caught.value, InvalidIdentifier)
    assert caught.value.code == BAD_USER_INPUT


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "11010519491231002Y",
            "ID number 11010519491231002Y: check character should be 'X', got 'Y'",
        ),
        ("110105194912310021", "check character should be 'X', got '1'"),
        ("1101051949123100X", "expected 18 characters, got 17"),
        ("11010519491231002XX", "expected 18 characters, got 19"),
        ("11010519A91231002X", "character 9 should be a digit, got 'A'"),
        ("110105194902300023", "birth date 19490230 does not exist"),
        ("110105194913010023", "birth date 19491301 does not exist"),
        ("110105299901010023", "birth date 29990101 is in the future"),
    ],
)
def test_id_number_errors_say_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=re.escape(message)):
        validate_id_number(value)


@pytest.mark.parametrize(
    ("region_code", "birth", "sequence", "male"),
    [
        ("410183", datetime.date(1975, 3, 8), 1, True),
        ("341221", datetime.date(1968, 12, 31), 998, False),
        ("500235", datetime.date(2000, 2, 29), 0, False),
        ("511623", datetime.date(1990, 7, 15), 999, True),
    ],
)
def test_made_id_numbers_validate_and_decode(
    region_code: str, birth: datetime.date, sequence: int, male: bool
) -> None:
    number = make_id_number(region_code, birth, sequence)
    assert validate_id_number(number) == number
    assert number.startswith(f"{region_code}{birth:%Y%m%d}{sequence:03d}")
    assert id_number_birth_date(number) == birth
    assert id_number_is_male(number) is male


def test_standard_examples_decode() -> None:
    assert id_number_birth_date("11010519491231002X") == datetime.date(1949, 12, 31)
    assert id_number_is_male("11010519491231002X") is False
    assert id_number_is_male("440524188001010014") is True


@pytest.mark.parametrize(
    ("region_code", "sequence", "message"),
    [("41018", 1, "region code '41018'"), ("410183", 1000, "sequence 1000")],
)
def test_make_id_number_refuses_out_of_range_parts(
    region_code: str, sequence: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_id_number(region_code, datetime.date(1980, 1, 1), sequence)


def test_id_number_is_masked_to_first_three_and_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_id_number("440524188001010014") == "440***********0014"


def test_account_number_is_masked_to_last_four() -> None:
    assert mask_account_number("6222021001234567890") == "***************7890"
    assert mask_account_number("1234") == "1234"


# --- unified social credit codes ----------------------------------------------------------


def test_real_credit_code_is_valid_and_normalised() -> None:
    assert uscc_check_char(REAL_USCC[:17]) == "3"
    assert validate_uscc(REAL_USCC) == REAL_USCC
    assert validate_uscc(f" {REAL_USCC.lower()} ") == REAL_USCC


def test_every_single_character_typo_in_a_credit_code_is_rejected() -> None:
    for corrupted in _single_character_corruptions(REAL_USCC, USCC_ALPHABET):
        with pytest.raises(InvalidIdentifier):
            validate_uscc(corrupted)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "91350100M000100Y44",
            "credit code 91350100M000100Y44: check character should be '3', got '4'",
        ),
        ("91350100M000100Y4", "expected 18 characters, got 17"),
        ("91350100MO00100Y43", "character 10 'O' is not allowed"),
        ("9135010OM000100Y43", "character 8 'O' is not allowed"),
        ("91350100M000100I43", "character 16 'I' is not allowed"),
    ],
)
def test_credit_code_errors_say_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=re.escape(message)):
        validate_uscc(value)


def test_made_credit_codes_are_valid_and_structured() -> None:
    code = make_uscc("410183", 42, registration_authority="5", category="2")
    assert validate_uscc(code) == code
    assert code[:8] == "52410183"
    assert _organization_code_is_valid(code[8:17])


def test_made_credit_codes_are_distinct_and_valid_for_many_serials() -> None:
    serials = [*range(100_000), 10_000_000, 50_000_000]
    codes = [make_uscc("320115", serial) for serial in serials]
    assert len(set(codes)) == len(serials)
    for code in codes[::997]:
        assert validate_uscc(code) == code
        assert _organization_code_is_valid(code[8:17])


def test_make_uscc_is_deterministic() -> None:
    assert make_uscc("410183", 7) == make_uscc("410183", 7)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"region_code": "4101", "serial": 1}, "region code '4101'"),
        ({"region_code": "410183", "serial": -1}, "serial -1"),
        ({"region_code": "410183", "serial": 1, "category": "I"}, "category 'I'"),
        ({"region_code": "410183", "serial": 1, "registration_authority": "91"}, "authority"),
    ],
)
def test_make_uscc_refuses_bad_parts(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_uscc(**kwargs)


# --- court case numbers -------------------------------------------------------------------

EXPECTED_FORM = "expected the form （2024）豫0183民初1234号"


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("（2024）豫0183民初1234号", "（2024）豫0183民初1234号"),
        ("(2024)豫0183民初1234号", "（2024）豫0183民初1234号"),
        ("  (2023)黔0102民终7号 ", "（2023）黔0102民终7号"),
        ("（2022）渝0112民诉前调123456号", "（2022）渝0112民诉前调123456号"),
        ("（2021）云0102执88号", "（2021）云0102执88号"),
    ],
)
def test_case_numbers_are_normalised_to_full_width_brackets(value: str, normalised: str) -> None:
    assert validate_case_number(value) == normalised


@pytest.mark.parametrize("case_type", CASE_TYPES)
def test_made_case_numbers_validate(case_type: str) -> None:
    number = make_case_number(2024, "豫0183", case_type, 1234)
    assert number == f"（2024）豫0183{case_type}1234号"
    assert validate_case_number(number) == number


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            "（2024）豫0183劳人仲字12号",
            "case type '劳人仲字' should be one of 民初, 民终, 民诉前调, 执",
        ),
        ("（2024）豫0183执保12号", "case type '执保'"),
        ("（2024）贵0102民初12号", "'贵' is not a province abbreviation"),
        ("（2024）滇0102民初12号", "'滇' is not a province abbreviation"),
    ],
)
def test_wrong_case_type_or_province_is_named(value: str, problem: str) -> None:
    with pytest.raises(InvalidIdentifier, match=re.escape(problem)) as caught:
        validate_case_number(value)
    assert str(caught.value).startswith(f"case number '{value}': ")
    assert str(caught.value).endswith(EXPECTED_FORM)


@pytest.mark.parametrize(
    "value",
    [
        "（2024）豫0183民初0123号",
        "（2024）豫0183民初1234567号",
        "（2024）豫0183民初1234",
        "（24）豫0183民初1234号",
        "（2024）豫183民初1234号",
        "（２０２４）豫0183民初1234号",
        "2024豫0183民初1234号",
        "",
    ],
)
def test_malformed_case_number_shows_the_expected_form(value: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_case_number(value)
    assert str(caught.value) == f"case number '{value}': {EXPECTED_FORM}"
