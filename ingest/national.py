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

An agency that takes one of the write methods declares it (`NationalMethod`, in its
package's `national.py`): which list in `data` holds the rows (`workerList`, …) and how
one call becomes rows of its importable tables (`Conversion`), which the hub then loads
through the import engine like any file.

Some provinces add fields (e.g. `corpsign` between appid and data); those are not signed
here and would need a per-submitter profile.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import Connection, select

from ingest.errors import IngestError, InvalidValue
from ingest.targets import Importable
from ingest.values import CHINA_STANDARD_TIME
from storage.database import Database

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
RESIDENT_CARD: Final = "01"
"""`idCardType` of a resident identity card, the only kind of ID the hub keeps."""

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


def encrypt(plaintext: str, appsecret: str | Cipher[modes.CBC]) -> str:
    """What a client puts in an encrypted field: base64(AES-CBC(PKCS#7(utf-8 text)));
    `appsecret` or the cipher made of it (`encrypt_fields` makes one for a whole call)."""
    cipher = appsecret if isinstance(appsecret, Cipher) else _cipher(appsecret)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = cipher.encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def _undecryptable() -> NationalError:
    return NationalError(
        "an encrypted field cannot be decrypted with this appsecret (AES-CBC, PKCS#7, base64)",
        "加密字段无法用该 appsecret 解密（AES-CBC，PKCS#7，base64）",
    )


def decrypt(ciphertext: str, appsecret: str | Cipher[modes.CBC]) -> str:
    """The plaintext of an encrypted field; NationalError (no detail leaked) when it is not
    one. `appsecret` or the cipher made of it (`decrypt_fields` makes one for a whole call:
    making it was 40% of a field's decryption, and a call carries thousands)."""
    try:
        raw = base64.b64decode("".join(ciphertext.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _undecryptable() from None
    if not raw or len(raw) % 16:
        raise _undecryptable()
    cipher = appsecret if isinstance(appsecret, Cipher) else _cipher(appsecret)
    decryptor = cipher.decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        padded = decryptor.update(raw) + decryptor.finalize()
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except ValueError:  # bad padding or not UTF-8: wrong key or damaged field
        raise _undecryptable() from None


def decrypt_fields(value: Any, appsecret: str) -> Any:
    """`data` with every encrypted field (by name, at any depth) decrypted; NationalError
    when one cannot be."""
    return _decrypted(value, _call_cipher(appsecret))


def encrypt_fields(value: Any, appsecret: str) -> Any:
    """What an uploader sends: every encrypted field (by name, at any depth) encrypted."""
    return _encrypted(value, _call_cipher(appsecret))


_CallCipher = Callable[[], Cipher[modes.CBC]]


def _call_cipher(appsecret: str) -> _CallCipher:
    """The appsecret's cipher for one call: made at its first encrypted field (as `decrypt`
    would, so a secret that is no AES key is refused only where a field is encrypted) and
    kept for the rest."""
    return functools.cache(functools.partial(_cipher, appsecret))


def _decrypted(value: Any, cipher: _CallCipher) -> Any:
    if isinstance(value, dict):
        return {
            name: decrypt(item, cipher())
            if name in ENCRYPTED_FIELDS and isinstance(item, str) and item.strip()
            else _decrypted(item, cipher)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [_decrypted(item, cipher) for item in value]
    return value


def _encrypted(value: Any, cipher: _CallCipher) -> Any:
    if isinstance(value, dict):
        return {
            name: encrypt(str(item), cipher())
            if name in ENCRYPTED_FIELDS and item not in (None, "")
            else _encrypted(item, cipher)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [_encrypted(item, cipher) for item in value]
    return value


@dataclass(frozen=True)
class Problem:
    """Why one item of a call cannot be loaded (before the engine sees it)."""

    item: int
    field: str
    reason_en: str
    reason_zh: str


@dataclass
class Part:
    """Rows for one importable table, keyed by the table's field names; `items[i]` is
    the call's item (0-based) row i came from."""

    table: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    items: list[int] = field(default_factory=list)
    fields: Mapping[str, str] = field(default_factory=dict)
    """The table's field → the interface's field it came from, so answers name the field
    the uploader sent (`workerName`, not `name`)."""

    def sent_as(self, column: str) -> str:
        """A report's column (or `a+b` of a reference) as the interface names it."""
        return "+".join(self.fields.get(name, name) for name in column.split("+"))

    def add(self, item: int, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.items.append(item)


@dataclass
class Conversion:
    """A call as rows of the agency's tables, loaded in order, or the problems that stop
    it; `answer` adds fields to each item's result (e.g. a team's `teamSysNo`)."""

    parts: list[Part] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    answer: Callable[[Database], list[dict[str, Any]]] | None = None


Convert = Callable[[Sequence[Mapping[str, Any]], Mapping[str, Any], Database], Conversion]
"""(the call's items, the rest of `data`, the agency's database) → the rows to load."""


@dataclass(frozen=True)
class NationalMethod:
    """A write method an agency takes on the national interface."""

    name: str
    agency: str
    items: str | None
    """The list in `data` that holds the rows (`workerList`); None: `data` is one row."""
    convert: Convert
    tables: tuple[str, ...]
    """The agency's tables the method writes, in the order it writes them."""
    flat: bool = False
    """`data` without the `items` list is itself the one row (WorkerContract.Add is sent
    both ways)."""


def record(target: Importable, stored: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored row as the JSON record an import reads back unchanged (field names)."""
    return typed_record(target, target.typed_row()(stored))


def typed_record(target: Importable, typed: Sequence[Any]) -> dict[str, Any]:
    """A typed row (the file's values, `Importable.typed_row`) as that JSON record."""
    return {
        column.name: None if value is None else column.kind.to_json(value)
        for column, value in zip(target.spec.columns, typed, strict=True)
    }


@contextmanager
def connected(database: Database) -> Iterator[Connection]:
    """A connection for one conversion's look-ups (a conversion runs once per call, in
    the runner's thread), given back after, on the database's kept one-off engine
    (`Database.one_off_engine`: set up once, not once a call)."""
    with database.one_off_engine().connect() as connection:
        yield connection


def stored_records(
    connection: Connection, target: Importable, **where: Any
) -> list[dict[str, Any]]:
    """The rows of `target` whose database columns equal `where`, as records."""
    table = target.table
    statement = select(table).where(*(table.c[name] == value for name, value in where.items()))
    return [record(target, row._mapping) for row in connection.execute(statement)]


def merged(sent: Mapping[str, Any], stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the call sent, completed by what the hub holds for fields it left out (the
    interface does not carry every column the hub keeps: a resend keeps them)."""
    result = dict(stored or {})
    result.update({name: value for name, value in sent.items() if value not in (None, "")})
    return result


def card_problem(item: Mapping[str, Any], index: int, field: str = "idCardType") -> Problem | None:
    """Why an item's ID type is refused: the hub keeps resident identity cards only (its
    ID-number checks are GB 11643's), whichever agency's method carries the item."""
    kind = text(item, field)
    if kind and kind != RESIDENT_CARD:
        return Problem(
            index, field, f"ID type {kind}: the hub keeps resident identity cards (01) only",
            f"证件类型 {kind}：本平台只收居民身份证（01）",
        )  # fmt: skip
    return None


def text(item: Mapping[str, Any], name: str) -> str:
    """A field as text ('' when absent): JSON numbers written as the uploader wrote them."""
    value = item.get(name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value).strip()


def parsed(kind: Any, raw: str) -> Any:
    """`raw` through a column kind's parser (required); None when it does not parse (the
    import reports why)."""
    try:
        return kind.make(True)(raw)
    except InvalidValue:
        return None
