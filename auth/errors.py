"""What the auth layer refuses, and why. Every message is safe to show: none carries a
secret, and none echoes attacker-controlled text into a header.

    AuthError
    ├── RegistryError       the client or key registry refused a change (the CLI prints it)
    │   ├── UnknownClient
    │   ├── ClientExists
    │   ├── InvalidGrant    a scope outside the vocabulary, no purpose, a malformed value
    │   └── KeyRetirementRefused
    └── InvalidToken        a bearer token the hub does not accept: 401 invalid_token
"""

from __future__ import annotations


class AuthError(Exception):
    """Base of every refusal raised by `auth`."""


class RegistryError(AuthError):
    pass


class UnknownClient(RegistryError):
    def __init__(self, client_id: str) -> None:
        super().__init__(f"no client {client_id!r}")


class ClientExists(RegistryError):
    def __init__(self, client_id: str) -> None:
        super().__init__(f"client {client_id!r} exists already")


class InvalidGrant(RegistryError):
    pass


class KeyRetirementRefused(RegistryError):
    pass


class InvalidToken(AuthError):
    """The message becomes `error_description`: a fixed text, never the token's content."""

    @property
    def description(self) -> str:
        return str(self)
