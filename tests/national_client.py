"""A national-interface uploader written the way provinces' uploaders are (their Java and
Python clients: build the sign string by hand, SHA-256 it lower-cased, AES the ID and card
numbers with the appsecret, post a form, poll `AsyncHandleResult.Query`) — deliberately
not reusing the hub's codec for the signature, so the test is of the wire format."""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import json
import time
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
ENCRYPTED = {"idCardNumber", "responsiblePersonIDNumber", "payRollBankCardNumber",
             "payBankCardNumber"}  # fmt: skip


@functools.cache
def _cipher(secret: str) -> Cipher[modes.CBC]:
    """The secret's cipher, made once (as a client keeps its configured cipher)."""
    key = secret.encode()
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def aes(plain: str, secret: str) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode()) + padder.finalize()
    encryptor = _cipher(secret).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def encrypted(value: Any, secret: str) -> Any:
    if isinstance(value, dict):
        return {
            k: aes(str(v), secret)
            if k in ENCRYPTED and v not in (None, "")
            else encrypted(v, secret)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [encrypted(v, secret) for v in value]
    return value


class Uploader:
    def __init__(self, url: str, appid: str, secret: str, client: httpx.Client | None = None):
        self.url = url.rstrip("/") + "/open.api"
        self.appid = appid
        self.secret = secret
        self.http = client or httpx.Client(timeout=60)

    def form(
        self, method: str, data: str, *, nonce: str | None = None, timestamp: str | None = None
    ) -> dict[str, str]:
        timestamp = timestamp or datetime.datetime.now(BEIJING).strftime("%Y%m%d%H%M%S")
        nonce = nonce or uuid.uuid4().hex
        text = (
            f"appid={self.appid}&data={data}&format=json&method={method}&nonce={nonce}"
            f"&timestamp={timestamp}&version=1.0&appsecret={self.secret}"
        )
        sign = hashlib.sha256(text.lower().encode()).hexdigest()
        return {"appid": self.appid, "data": data, "format": "json", "method": method,
                "nonce": nonce, "timestamp": timestamp, "version": "1.0", "sign": sign}  # fmt: skip

    def post(self, form: dict[str, str]) -> dict[str, Any]:
        response = self.http.post(self.url, data=form)
        assert response.headers["content-type"].startswith("application/json"), response.text
        return dict(response.json())

    def call(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        """The answer to one call, the ID and card numbers in `data` encrypted first."""
        text = json.dumps(encrypted(data, self.secret), ensure_ascii=False)
        return self.post(self.form(method, text))

    def result(self, serial: str, timeout: float = 60, poll: float = 0.1) -> dict[str, Any]:
        """Polls AsyncHandleResult.Query every `poll` seconds until the call is done or
        refused (a refusal for the appid's rate, 429, waited out as a send's is)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self._accepted("AsyncHandleResult.Query", {"requestSerialCode": serial})
            if answer is not None and answer["data"]["status"] != "0":
                return dict(answer["data"])
            assert time.monotonic() < deadline, f"{serial} still waiting"
            if answer is not None:
                time.sleep(poll)

    def send(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        answer = self.call(method, data)
        assert answer["code"] == 0, answer
        return self.result(answer["data"]["requestSerialCode"])

    def send_all(
        self, calls: Iterable[tuple[str, dict[str, Any]]], poll: float = 0.5
    ) -> list[dict[str, Any]]:
        """A backlog as uploaders send it: every call first, then each one's result, in
        order (the hub runs a submitter's calls in the order it accepted them), polled
        every `poll` seconds, as an uploader waiting on a backlog does: the hub runs it
        in the meantime, so the wait ends at most `poll` after the last answer, and each
        poll of a call still running is a request answered (at 0.1 s, 500 of the round
        trip's ~1,500, each a few ms of the hub's and the client's CPU). A refusal for the
        appid's rate (429) is sent again after its Retry-After."""
        serials = []
        for method, data in calls:
            while (answer := self._accepted(method, data)) is None:
                pass
            serials.append(answer["data"]["requestSerialCode"])
        return [self.result(serial, poll=poll) for serial in serials]

    def _accepted(self, method: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """The call's acceptance; None after waiting out a 429."""
        text = json.dumps(encrypted(data, self.secret), ensure_ascii=False)
        response = self.http.post(self.url, data=self.form(method, text))
        if response.status_code == 429:
            time.sleep(float(response.headers["retry-after"]))
            return None
        answer = dict(response.json())
        assert answer["code"] == 0, answer
        return answer
