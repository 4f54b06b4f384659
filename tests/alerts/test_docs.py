"""docs/warnings.md stays true: its receiver's signature check, run as written, accepts
what the hub signs and refuses a changed body, another secret and an old timestamp; every
HUB_ALERTS_ setting it lists exists, and every setting is listed."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from alerts.settings import AlertSettings
from alerts.signing import headers, new_secret

PAGE = Path(__file__).resolve().parents[2] / "docs" / "warnings.md"


def _receiver_check() -> Any:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("## Verifying a signature", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(PAGE), "exec"), namespace)
    return namespace["verify_webhook"]


def test_the_documented_check_accepts_what_the_hub_signs() -> None:
    verify_webhook = _receiver_check()
    secret = new_secret()
    body = b'{"type":"worker.unpaid","data":{"event":{"kind":"WORKER_UNPAID"}}}'
    sent = headers(secret, "msg_0123", body)
    assert verify_webhook(secret, sent, body) == "msg_0123"
    with pytest.raises(ValueError, match="does not match"):
        verify_webhook(secret, sent, body.replace(b"unpaid", b"paid"))
    with pytest.raises(ValueError, match="does not match"):
        verify_webhook(new_secret(), sent, body)
    old = headers(secret, "msg_0123", body, timestamp=int(time.time()) - 3600)
    with pytest.raises(ValueError, match="too old"):
        verify_webhook(secret, old, body)


def test_every_setting_is_documented() -> None:
    text = PAGE.read_text(encoding="utf-8")
    documented = set(re.findall(r"HUB_ALERTS_([A-Z_]+)", text)) - {"DB_URL"}
    fields = {name.upper() for name in AlertSettings.model_fields}
    assert documented == fields
