"""Default deny: every data field declares the scope it needs, next to its declaration,
and one field extension enforces it.

    name: str = scoped(WORKER_IDENTITY, description="姓名")
    id_number: IdNumber = scoped(WORKER_IDENTITY, mask=mask_id_number)

A caller without the scope gets `null` for that field and a FORBIDDEN error naming the
missing scope (the rest of the response is returned), or, for a masked field, the masked
value. The SDL shows each field's scopes with Apollo's `@requiresScopes` directive.
`scoped_type` gives every field of a record type the scope of the data it carries;
`public` marks the rare field that carries no personal or agency data (entity keys other
than ID numbers). `tests/schemas/test_access.py` fails for any field with neither.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import strawberry
from strawberry.extensions.field_extension import (
    AsyncExtensionResolver,
    FieldExtension,
    SyncExtensionResolver,
)
from strawberry.schema_directive import Location
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField

from kernel.caller import Caller
from kernel.context import notes_of
from kernel.errors import Forbidden

TypeT = TypeVar("TypeT", bound=type)
SCOPES_KEY = "requires_scopes"
PUBLIC_KEY = "public"
ANONYMOUS = Caller(client_id="")


@strawberry.schema_directive(
    name="requiresScopes",
    locations=[Location.FIELD_DEFINITION],
    description="The OAuth scopes a caller needs to see this field (all of one inner list).",
)
class RequiresScopes:
    scopes: list[list[str]]


def caller_of(info: Any) -> Caller:
    caller = info.context.caller
    return caller if isinstance(caller, Caller) else ANONYMOUS


class ScopeGuard(FieldExtension):
    def __init__(self, scopes: tuple[str, ...], mask: Callable[[Any], Any] | None = None):
        self.scopes = scopes
        self.mask = mask

    def _refuse(self, info: Any, missing: tuple[str, ...]) -> Forbidden:
        where = f"{info.path.typename}.{info.field_name}"
        return Forbidden(
            f"{where} needs scope {' and '.join(missing)}, which this client's grant lacks",
            missingScopes=list(missing),
        )

    def _masked(self, value: Any) -> Any:
        assert self.mask is not None
        return None if value is None else self.mask(value)

    def fast(self, read: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        """`resolve`, as one graphql-core resolver of a field without arguments that
        `read(source, info)` answers: see `fast_resolver`. It carries `PLAIN`."""
        scopes, mask = self.scopes, self.mask

        def resolve(source: Any, info: Any) -> Any:
            missing = caller_of(info).missing(scopes)
            self._note(info, missing)
            if not missing:
                return read(source, info)
            if mask is not None:
                return self._masked(read(source, info))
            raise self._refuse(info, missing)

        setattr(resolve, PLAIN, (scopes, read))
        return resolve

    def _note(self, info: Any, missing: tuple[str, ...]) -> None:
        """Notes the field for the audit log: read, masked, or (when refused) denied."""
        notes = notes_of(info)
        coordinate = (info.path.typename, info.field_name)
        if not missing:
            notes.read(coordinate, self.scopes, info.path)
        elif self.mask is not None:
            notes.mask(coordinate, info.path)
        else:
            notes.deny(coordinate)

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Any, **kwargs: Any) -> Any:
        missing = caller_of(info).missing(self.scopes)
        self._note(info, missing)
        if not missing:
            return next_(source, info, **kwargs)
        if self.mask is not None:
            return self._masked(next_(source, info, **kwargs))
        raise self._refuse(info, missing)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Any, **kwargs: Any
    ) -> Any:
        missing = caller_of(info).missing(self.scopes)
        self._note(info, missing)
        if not missing:
            return await next_(source, info, **kwargs)
        if self.mask is not None:
            return self._masked(await next_(source, info, **kwargs))
        raise self._refuse(info, missing)


PLAIN = "hub_plain"
"""The attribute of a `fast_resolver` holding `(scopes, read)`: for a caller with every one
of the scopes, what the resolver does is to note the field as read (`Disclosures.read`)
and answer `read(source, info)`, where `read` uses only `info.context`. The executor
does that itself, without a resolve info per field (`graph.executor`)."""

FAST_READ = "hub_fast_read"
"""The attribute of a resolver naming a synchronous `read(source, info)` that answers the
same (the value, or an awaitable of it): `kernel.records.row_field` sets it."""


def fast_resolver(field: StrawberryField) -> Callable[..., Any] | None:
    """What strawberry's resolver and the field's `ScopeGuard` do together, as one
    graphql-core resolver, for a field whose only extension is that guard, with no
    arguments, that is an attribute of its source or declares a `FAST_READ`: no `Info`
    object, no argument conversion, no chain of extension calls, no coroutines of
    strawberry's. Same value, same error, same note for the audit log
    (`tests/graph/test_fast_fields.py`). None for every other field: strawberry's
    resolver stays. Why: these are most of the fields of an answer, and strawberry's
    path was about a third of a request's CPU (bench.profile, dossier)."""
    if field.arguments or len(field.extensions) != 1:
        return None
    guard = field.extensions[0]
    if type(guard) is not ScopeGuard:
        return None
    if field.base_resolver is None:
        getter, name = field.default_resolver, field.python_name
        return guard.fast(lambda source, info: getter(source, name))
    read = getattr(field.base_resolver.wrapped_func, FAST_READ, None)
    if read is None or guard.mask is not None:  # a mask needs the value, not an awaitable
        return None
    return guard.fast(read)


def _guard(
    field: StrawberryField, scopes: tuple[str, ...], mask: Callable[[Any], Any] | None
) -> None:
    field.extensions = [*field.extensions, ScopeGuard(scopes, mask)]
    field.directives = [*field.directives, RequiresScopes(scopes=[list(scopes)])]
    field.metadata = MappingProxyType({**(field.metadata or {}), SCOPES_KEY: scopes})


def scoped(
    *scopes: str,
    mask: Callable[[Any], Any] | None = None,
    resolver: Callable[..., Any] | None = None,
    **field_kwargs: Any,
) -> Any:
    """A strawberry field that needs `scopes`; `mask` shows a masked value instead of null."""
    field = (
        strawberry.field(resolver=resolver, **field_kwargs)
        if resolver
        else strawberry.field(**field_kwargs)
    )
    _guard(field, scopes, mask)
    return field


def scoped_resolver(*scopes: str, **field_kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Decorator form for resolver methods: `@scoped_resolver(WAGE_READ, description=...)`."""

    def wrap(resolver: Callable[..., Awaitable[Any] | Any]) -> Any:
        field = strawberry.field(resolver=resolver, **field_kwargs)
        _guard(field, scopes, None)
        return field

    return wrap


def public(**field_kwargs: Any) -> Any:
    """A field anyone authenticated may see: keys and facts that identify no person."""
    return strawberry.field(metadata={PUBLIC_KEY: True}, **field_kwargs)


def public_type(cls: TypeT) -> TypeT:
    """Marks every field of a structural type (pagination, regions) as public."""
    for field in get_object_definition(cls, strict=True).fields:
        field.metadata = MappingProxyType({**(field.metadata or {}), PUBLIC_KEY: True})
    return cls


def scoped_type(*scopes: str) -> Callable[[TypeT], TypeT]:
    """Gives every field of a strawberry record type that declares nothing itself the
    scope of the data the type carries."""

    def wrap(cls: TypeT) -> TypeT:
        definition = get_object_definition(cls, strict=True)
        for field in definition.fields:
            metadata: Mapping[str, Any] = field.metadata or {}
            if SCOPES_KEY not in metadata and PUBLIC_KEY not in metadata:
                _guard(field, scopes, None)
        return cls

    return wrap
