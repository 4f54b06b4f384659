"""The subject hasher's keyed hashes are HMAC-SHA-256 exactly (its precomputed pads must
not change a single hash already in the log), for short, block-sized and long keys."""

from __future__ import annotations

import hmac

import pytest

from audit.record import KEYED, SubjectHasher


@pytest.mark.parametrize("length", [16, 32, 63, 64, 65, 200])
def test_keyed_hash_is_hmac_sha256(length: int) -> None:
    key = bytes((i * 37 + 11) % 256 for i in range(length))
    hasher = SubjectHasher(key)
    for value in ("410183196001010011", "", "张三丰", "x" * 300):
        expected = KEYED + hmac.digest(key, value.encode(), "sha256").hex()
        assert hasher(value) == expected
        assert hasher(value) == expected  # the kept states are copied, never consumed
