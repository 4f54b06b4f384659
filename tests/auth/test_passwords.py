"""People's passwords (`auth.passwords`): argon2id hashes, checked in constant time."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from auth import passwords
from conftest import REAL_PASSWORD_HASHER

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _real_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """These tests are of the hasher's parameters: the real ones, not the suite's cheap
    `conftest.TEST_PASSWORD_HASHER`; the dummy made again under each."""
    dummy = passwords._dummy
    monkeypatch.setattr(passwords, "_HASHER", REAL_PASSWORD_HASHER)
    dummy.cache_clear()
    yield
    dummy.cache_clear()


def test_a_hash_checks_its_password_and_no_other() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password("correct horse battery", stored)
    assert not passwords.verify_password("correct horse batterz", stored)
    assert not passwords.verify_password("correct horse battery", "not a hash")
    assert not passwords.needs_rehash(stored)


def test_an_unknown_name_is_checked_against_a_dummy_and_refused() -> None:
    assert not passwords.verify_password("correct horse battery", None)
    assert not passwords.verify_password("x" * (passwords.MAX_LENGTH + 1), None)


def test_the_dummy_has_the_hasher_s_parameters_so_it_costs_what_a_person_s_hash_costs() -> None:
    """A dummy made with other parameters (argon2-cffi's defaults changed) would check
    faster or slower than a person's hash, and the time would tell unknown names apart."""
    passwords.prepare()
    assert not passwords.needs_rehash(passwords._dummy())
    assert passwords._dummy() == passwords._DUMMY  # this hasher's: none is made at start-up


def test_weak_passwords_are_refused_with_the_reason() -> None:
    with pytest.raises(passwords.WeakPassword, match="at least 12"):
        passwords.hash_password("short")
    with pytest.raises(passwords.WeakPassword, match="at most 256"):
        passwords.hash_password("x" * 257)


def test_importing_hashes_nothing() -> None:
    """Every process importing `auth` (each `hub` command, server and test process) used to
    pay an argon2 hash at import: 60 ms and 64 MiB, 0.75 s on a loaded machine."""
    code = "from auth import passwords; print(passwords._dummy.cache_info().currsize)"
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "0"


def test_a_blank_stored_hash_accepts_no_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dummy is public (it is in the source): an account whose hash was blanked must
    not accept the dummy's password."""
    known = passwords._HASHER.hash("the dummy's password")
    monkeypatch.setattr(passwords, "_dummy", lambda: known)
    assert not passwords.verify_password("the dummy's password", "")
    assert not passwords.verify_password("the dummy's password", None)
