"""The national construction-worker platform's interface codec (全国建筑工人管理服务信息平台).

What provincial uploaders send, as public client code implements it (confirmed against
several open-source uploaders; docs/national-interface.md):

- one form POST with `appid`, `data` (JSON text), `format=json`, `method`, `nonce`,
  `timestamp` (`yyyyMMddHHmmss`, Beijing time), `version=1.0` and `sign`;
- `sign` = SHA-256 hex of the LOWER-CASED string
  `appid=…&data=…&format=json&method=…&nonce=…&timestamp=…&version=1.0&appsecret=…`
  (fixed order, raw values, no URL-encoding; the whole string is lower-cased, the JSON in
  `data` included);
- ID and bank card numbers inside `data` are AES-CBC with PKCS#7 padding, the key being the
  appsecret's bytes (32 characters → AES-256), the IV its first 16 characters, then base64.
  Java clients use `sun.misc.BASE64Encoder`, which wraps lines every 76 characters, so
  decoding ignores whitespace;
- writes are asynchronous: the answer carries `requestSerialCode`; `AsyncHandleResult.Query`
  reports `status` "0" (pending), "10" (failed) or "20" (done) with per-row results.

Some provinces add fields (e.g. `corpsign` between appid and data); those are not signed
here and would need a per-submitter profile.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ingest.errors import IngestError
from ingest.values import CHINA_STANDARD_TIME

SIGNED_FIELDS: Final = ("appid", "data", "format", "method", "nonce", "timestamp", "version")
VERSION: Final = "1.0"
FORMAT: Final = "json"
TIMESTAMP_FORMAT: Final = "%Y%m%d%H%M%S"
DEFAULT_TOLERANCE: Final = datetime.timedelta(minutes=10)

ASYNC_PENDING: Final = "0"
ASYNC_FAILED: Final = "10"
ASYNC_DONE: Final = "20"

WRITE_METHODS: Final = (
    "Project.Add",
    "ProjectSubContractor.Add",
    "Team.Add",
    "ProjectWorker.Add",
    "WorkerEntryExit.Add",
    "WorkerContract.Add",
    "WorkerAttendance.Add",
    "Payroll.Add",
)
RESULT_METHOD: Final = "AsyncHandleResult.Query"

# Fields whose values are AES-encrypted inside `data`, by the interface's names.
ENCRYPTED_FIELDS: Final = frozenset(
    {
        "idCardNumber",
        "responsiblePersonIDNumber",
        "pmIDCardNumber",
        "payRollBankCardNumber",
        "payBankCardNumber",
        "bankNumber",
    }
)


class NationalError(IngestError):
    """A call the interface refuses: bad signature, stale timestamp, undecryptable field."""

    def __init__(self, reason_en: str, reason_zh: str) -> None:
        super().__init__(reason_en, reason_zh)


def sign_string(params: Mapping[str, str], appsecret: str) -> str:
    """The lower-cased string that is hashed (exposed for tests and debugging clients)."""
    try:
        parts = [f"{name}={params[name]}" for name in SIGNED_FIELDS]
    except KeyError as missing:
        raise NationalError(
            f"parameter {missing.args[0]} is missing", f"缺少参数 {missing.args[0]}"
        ) from None
    return ("&".join(parts) + f"&appsecret={appsecret}").lower()


def sign(params: Mapping[str, str], appsecret: str) -> str:
    """The `sign` a client sends: SHA-256 hex of `sign_string`."""
    return hashlib.sha256(sign_string(params, appsecret).encode("utf-8")).hexdigest()


def verify_sign(params: Mapping[str, str], appsecret: str) -> None:
    """Check `params["sign"]` in constant time; raise NationalError if it does not match."""
    given = params.get("sign", "")
    expected = sign(params, appsecret)
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise NationalError(
            "the signature does not match (check appid, appsecret and the sign string order)",
            "签名不正确（请核对 appid、appsecret 及签名串顺序）",
        )


def format_timestamp(moment: datetime.datetime) -> str:
    """A `timestamp` parameter: Beijing time, `yyyyMMddHHmmss`."""
    return moment.astimezone(CHINA_STANDARD_TIME).strftime(TIMESTAMP_FORMAT)


def check_timestamp(
    value: str,
    now: datetime.datetime,
    tolerance: datetime.timedelta = DEFAULT_TOLERANCE,
) -> datetime.datetime:
    """The UTC moment of a `timestamp` parameter, refused when malformed or not fresh.

    Freshness with the nonce limits replays: a caller keeps nonces for `tolerance`.
    """
    if len(value) != 14 or not value.isascii() or not value.isdigit():
        raise NationalError(
            "timestamp must be yyyyMMddHHmmss (14 digits)",
            "timestamp 应为 yyyyMMddHHmmss（14 位数字）",
        )
    try:
        local = datetime.datetime.strptime(value, TIMESTAMP_FORMAT)
    except ValueError:
        raise NationalError(
            f"timestamp {value} is not a real time", f"timestamp {value} 不是有效时间"
        ) from None
    moment = local.replace(tzinfo=CHINA_STANDARD_TIME).astimezone(datetime.UTC)
    if abs(moment - now) > tolerance:
        minutes = int(tolerance.total_seconds() // 60)
        raise NationalError(
            f"timestamp {value} is more than {minutes} minutes from the server's time"
            " (Beijing time expected)",
            f"timestamp {value} 与服务器时间相差超过 {minutes} 分钟（应为北京时间）",
        )
    return moment


def _cipher(appsecret: str) -> Cipher[modes.CBC]:
    key = appsecret.encode("utf-8")
    if len(key) not in (16, 24, 32):
        raise NationalError(
            f"an appsecret must be 16, 24 or 32 bytes to be an AES key, got {len(key)}",
            f"appsecret 须为 16、24 或 32 字节才能作为 AES 密钥，实为 {len(key)}",
        )
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(plaintext: str, appsecret: str) -> str:
    """What a client puts in an encrypted field: base64(AES-CBC(PKCS#7(utf-8 text)))."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = _cipher(appsecret).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def decrypt(ciphertext: str, appsecret: str) -> str:
    """The plaintext of an encrypted field; NationalError (no detail leaked) when it is not one."""
    refused = NationalError(
        "an encrypted field cannot be decrypted with this appsecret (AES-CBC, PKCS#7, base64)",
        "加密字段无法用该 appsecret 解密（AES-CBC，PKCS#7，base64）",
    )
    try:
        raw = base64.b64decode("".join(ciphertext.split()), validate=True)
    except (binascii.Error, ValueError):
        raise refused from None
    if not raw or len(raw) % 16:
        raise refused
    decryptor = _cipher(appsecret).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        padded = decryptor.update(raw) + decryptor.finalize()
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except ValueError:  # bad padding or not UTF-8: wrong key or damaged field
        raise refused from None
