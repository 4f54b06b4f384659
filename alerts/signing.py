"""Standard Webhooks signatures (https://www.standardwebhooks.com): the receiver checks
`webhook-signature` against an HMAC-SHA256, keyed with the subscription's secret, over
`{webhook-id}.{webhook-timestamp}.{body}`, and refuses a timestamp outside a few minutes.

    webhook-id: msg_…            the same on every retry: the receiver's idempotency key
    webhook-timestamp: 1767225600 seconds since the epoch, of this attempt
    webhook-signature: v1,<base64 HMAC-SHA256>   (several, space-separated, during a rotation)

The secret is `whsec_` and the key in base64. `verify` is what a receiver runs
(docs/warnings.md shows it standalone).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from typing import Final

PREFIX: Final = "whsec_"
TOLERANCE_SECONDS: Final = 300


class InvalidSignature(ValueError):
    """The headers are missing, the timestamp is too old or new, or no signature matches."""


def new_secret() -> str:
    """A subscription's secret: `whsec_` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def derived_secret(key: bytes, subscription_id: str) -> str:
    """The secret of subscription `subscription_id` under the hub's key: recomputed when
    needed, so no database holds it and a copy of the database forges nothing."""
    digest = hmac.digest(key, b"webhook-secret\n" + subscription_id.encode(), hashlib.sha256)
    return PREFIX + base64.b64encode(digest).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    digest = hmac.digest(_key(secret), signed, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode()


def headers(
    secret: str, message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    at = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(at),
        "webhook-signature": sign(secret, message_id, at, body),
        "content-type": "application/json",
    }


def verify(
    secret: str,
    received: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> str:
    """The message id when the signature holds; else `InvalidSignature`."""
    try:
        message_id = received["webhook-id"]
        timestamp = int(received["webhook-timestamp"])
        signatures = received["webhook-signature"].split()
    except (KeyError, ValueError) as error:
        raise InvalidSignature(f"missing or malformed header: {error}") from None
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise InvalidSignature("timestamp outside the tolerance")
    expected = sign(secret, message_id, timestamp, body).encode()
    if not any(hmac.compare_digest(expected, s.encode()) for s in signatures):
        raise InvalidSignature("no signature matches")
    return message_id
