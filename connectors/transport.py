"""Where an agency's records come from, behind one small contract, as httpx puts its
transports behind `AsyncBaseTransport`: the loaders above never ask which one they have.

    Transport                   one per agency and process: health, disposal, a session
    │                           per request
    ├── LocalTransport          the agency's own database, in this process
    │                           (`connectors.local`; it is its own session)
    └── RemoteTransport         the agency's service over HTTP (`connectors.remote`)
    Session                     one request's way to the records: `load` a declared
                                look-up with a batch of keys, run a `@served` query

A remote transport's session groups the calls of one batching wave into one HTTP request
and carries whom the request is for; the local one needs no per-request state. Tests
swap in either over a mock (`httpx.MockTransport` under the remote one).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Protocol

from sqlalchemy import Select

from storage.database import Database


class Requester(Protocol):
    """Whom a request is made for: the caller the hub is answering."""

    @property
    def client_id(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def purpose_reference(self) -> str | None: ...
    @property
    def credential(self) -> str | None:
        """The caller's token, exchanged for one the agency accepts (None: a caller the
        process authenticated otherwise, or a read of its own)."""

    @property
    def scopes(self) -> frozenset[str]: ...
    @property
    def user(self) -> str | None: ...


class LookUp(Protocol):
    """A keyed look-up an agency declared (`connectors.loading.one_by`, `many_by`): the
    wire carries its name, the database runs its statement with `parameters(keys)`."""

    @property
    def name(self) -> str: ...
    @property
    def query(self) -> Select[Any]: ...
    def parameters(self, keys: list[Hashable]) -> dict[str, list[Any]]: ...


class ListQuery(Protocol):
    """A list query an agency declared (`connectors.loading.served`): the wire carries its
    name, the database runs its body."""

    @property
    def name(self) -> str: ...
    @property
    def body(self) -> Callable[..., Awaitable[Any]]: ...


class Session(ABC):
    """One request's way to one agency's records."""

    @abstractmethod
    async def load(self, look_up: LookUp, keys: list[Hashable]) -> Sequence[Any]:
        """Every row matching the keys, in any order (the loader arranges them)."""

    @abstractmethod
    async def query(self, query: ListQuery, args: tuple[Any, ...]) -> Any:
        """The list query's result for these arguments, given by position."""


class Transport(ABC):
    """How this process reaches one agency's records, shared by all its requests."""

    @abstractmethod
    def session(self, requester: Requester | None) -> Session:
        """The session one request's loaders use; `requester`: whom it is for."""

    @abstractmethod
    async def check_health(self) -> None:
        """Raise unless the records can be reached (the readiness check)."""

    @abstractmethod
    async def dispose(self) -> None:
        """Release what the transport holds (connections), when the process stops."""

    @abstractmethod
    def describe(self) -> str:
        """Where the records are, for logs and reprs (never a password)."""

    @property
    def database(self) -> Database:
        """The agency's database, when this process holds it: what `hub migrate` and
        `hub seed` work on and the tests count statements of."""
        raise NotInProcess(f"the agency's database is not in this process: {self.describe()}")


class NotInProcess(LookupError):
    """Asked for the database of an agency this process reaches elsewhere."""
