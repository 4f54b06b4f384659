"""The national interface codec against vectors computed outside Python (openssl, sha256sum).

    SECRET=6307a2c2403b72d08ca978e5dfea1813
    printf %s 41010519800517123X | openssl enc -aes-256-cbc -base64 -A \
        -K $(printf %s "$SECRET" | xxd -p | tr -d '\\n') \
        -iv $(printf %s "${SECRET:0:16}" | xxd -p | tr -d '\\n')
    printf %s "appid=…&appsecret=$SECRET" | tr A-Z a-z | sha256sum
"""

from __future__ import annotations

import datetime

import pytest

from ingest import national
from ingest.national import NationalError

SECRET = "6307a2c2403b72d08ca978e5dfea1813"
PARAMS = {
    "appid": "3311222019030004",
    "data": '{"requestSerialCode":"projectworker-add-2019032111-1-0858"}',
    "format": "json",
    "method": "AsyncHandleResult.Query",
    "nonce": "1234567890",
    "timestamp": "20190321113005",
    "version": "1.0",
}
SIGN = "68047cedfe9a34711c758e8f648fd416bc90ecf67491528db36ddca98b41312d"
VECTORS = {
    "41010519800517123X": "brtWnirpz4U6zj25Ak2iEgI4BORS9MQR3glTrvJzmiE=",
    "6217000011112222": "ShQ+TtyjoMWX+yTmJEczLlEjYcmK/ZzM1o4sI38mVqM=",
    "张三": "z77B2HUSFWVNgQVpEni+Vg==",
}


def test_sign_string_is_fixed_order_lower_cased_with_the_secret_last() -> None:
    assert national.sign_string(PARAMS, SECRET) == (
        'appid=3311222019030004&data={"requestserialcode":"projectworker-add-2019032111-1-0858"}'
        "&format=json&method=asynchandleresult.query&nonce=1234567890&timestamp=20190321113005"
        "&version=1.0&appsecret=6307a2c2403b72d08ca978e5dfea1813"
    )


def test_sign_matches_sha256sum() -> None:
    assert national.sign(PARAMS, SECRET) == SIGN


def test_verify_accepts_the_right_sign_in_any_case() -> None:
    national.verify_sign({**PARAMS, "sign": SIGN.upper()}, SECRET)


@pytest.mark.parametrize(
    "params",
    [
        {**PARAMS, "sign": SIGN[:-1] + "0"},
        {**PARAMS, "nonce": "1234567891", "sign": SIGN},
        {**PARAMS},
    ],
)
def test_verify_refuses_a_wrong_or_missing_sign(params: dict[str, str]) -> None:
    with pytest.raises(NationalError, match="signature"):
        national.verify_sign(params, SECRET)


def test_a_missing_parameter_is_named() -> None:
    params = {k: v for k, v in PARAMS.items() if k != "nonce"}
    with pytest.raises(NationalError, match="nonce"):
        national.sign(params, SECRET)


@pytest.mark.parametrize(("plain", "cipher"), VECTORS.items())
def test_aes_matches_openssl(plain: str, cipher: str) -> None:
    assert national.encrypt(plain, SECRET) == cipher
    assert national.decrypt(cipher, SECRET) == plain


def test_decrypt_tolerates_java_base64_line_breaks() -> None:
    cipher = VECTORS["41010519800517123X"]
    assert national.decrypt(cipher[:20] + "\r\n" + cipher[20:], SECRET) == "41010519800517123X"


@pytest.mark.parametrize(
    "cipher",
    ["not base64!", "", "AAAA", VECTORS["张三"][:-4] + "AAA="],
)
def test_decrypt_refuses_garbage_without_detail(cipher: str) -> None:
    with pytest.raises(NationalError, match="cannot be decrypted"):
        national.decrypt(cipher, SECRET)


def test_decrypt_with_another_secret_is_refused() -> None:
    with pytest.raises(NationalError):
        national.decrypt(VECTORS["41010519800517123X"], "0" * 32)


def test_a_secret_that_is_no_aes_key_is_refused() -> None:
    with pytest.raises(NationalError, match="16, 24 or 32"):
        national.encrypt("x", "short")


def test_fields_at_any_depth_match_openssl_with_one_cipher_for_the_call() -> None:
    """`encrypt_fields` and `decrypt_fields` make the secret's cipher once for a call and
    reuse it for every field: each field is still the vector openssl gives."""
    plain = {
        "projectCode": "P1",
        "idCardNumber": "41010519800517123X",
        "workerList": [
            {"idCardNumber": "41010519800517123X", "payRollBankCardNumber": "6217000011112222"},
            {"idCardNumber": "41010519800517123X", "name": "张三", "bankNumber": ""},
        ],
    }
    sent = national.encrypt_fields(plain, SECRET)
    assert sent["idCardNumber"] == VECTORS["41010519800517123X"]
    assert sent["workerList"][0] == {
        "idCardNumber": VECTORS["41010519800517123X"],
        "payRollBankCardNumber": VECTORS["6217000011112222"],
    }
    assert sent["workerList"][1]["name"] == "张三"  # not an encrypted field
    assert national.decrypt_fields(sent, SECRET) == plain


def test_fields_with_a_secret_that_is_no_aes_key_are_refused_only_when_encrypted() -> None:
    assert national.decrypt_fields({"workerList": [{"name": "张三"}]}, "short") == {
        "workerList": [{"name": "张三"}]
    }
    with pytest.raises(NationalError, match="16, 24 or 32"):
        national.decrypt_fields({"workerList": [{"idCardNumber": "AAAA"}]}, "short")


def test_fields_refuse_a_field_that_does_not_decrypt_after_others_that_do() -> None:
    sent = {"workerList": [{"idCardNumber": VECTORS["41010519800517123X"]},
                           {"idCardNumber": VECTORS["张三"][:-4] + "AAA="}]}  # fmt: skip
    with pytest.raises(NationalError, match="cannot be decrypted"):
        national.decrypt_fields(sent, SECRET)


NOW = datetime.datetime(2019, 3, 21, 3, 30, 5, tzinfo=datetime.UTC)  # 11:30:05 in Beijing


def test_timestamp_is_beijing_time() -> None:
    assert national.check_timestamp("20190321113005", NOW) == NOW
    assert national.format_timestamp(NOW) == "20190321113005"


@pytest.mark.parametrize(
    ("value", "reason"),
    [("20190321114100", "more than 10 minutes"), ("20190321031900", "more than 10 minutes"),
     ("2019032111300", "14 digits"), ("20191321113005", "not a real time")],
)  # fmt: skip
def test_stale_or_malformed_timestamps_are_refused(value: str, reason: str) -> None:
    with pytest.raises(NationalError, match=reason):
        national.check_timestamp(value, NOW)
