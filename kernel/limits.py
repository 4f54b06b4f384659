"""Row limits: which rows a client may see, on top of what its scopes allow.

A grant carries its limits as data — `{"regions": ("4101",), "bank": ("中国建设银行",)}` —
and no code outside the agencies names a kind of limit. Each kind is a `RowLimit`,
declared by the package that understands it (the kernel declares `regions`, which every
agency's records can be placed in; the court declares `courts`, the bank `bank`). A limit
is stated on one entity, its `home`: a bank-bound client sees the projects whose wage
account the bank keeps.

Agencies contribute what their records can decide (`RowLimits`):

    Decider(limit, entity, decide)    whether these entities pass this limit, from the
                                      agency's own records (housing: a project's region)
    Link(source, target, follow)      which entities of another kind each one is linked
                                      to (housing: a worker's registered projects)

The composed graph (`graph.jurisdiction`) combines them: an entity passes a limit when a
decider for that limit and entity says so, or, where none exists, when it is linked to a
home entity that passes. Anything neither decided nor linked is invisible (default
deny), and every limit of a grant must pass.

A list root says which limits it can apply in its own SQL (`bounded_list`); a caller
holding any other limit is refused that list, so pages and counts are never wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from kernel.access import caller_of
from kernel.caller import Caller
from kernel.composition import Entity
from kernel.errors import Forbidden
from kernel.regions import PROVINCE_ABBREVIATIONS, region_name

Decide = Callable[[Any, tuple[str, ...], list[Hashable]], Awaitable[list[bool]]]
"""(request context, the limit's values, entity keys) → one verdict per key."""
Follow = Callable[[Any, list[Hashable]], Awaitable[list[list[Hashable]]]]
"""(request context, source keys) → the linked target keys of each."""


@dataclass(frozen=True)
class RowLimit:
    """A kind of row limit a grant may carry."""

    name: str
    label: str
    """What users read (Chinese)."""
    description: str
    """What a value means, for `hub clients add --limit name=value` and the docs."""
    home: Entity
    """The entity the limit is stated on; other entities pass through their links to it."""
    check: Callable[[str], str]
    """One value, normalised; ValueError saying why it is not one."""


@dataclass(frozen=True)
class Decider:
    limit: str
    entity: Entity
    decide: Decide


@dataclass(frozen=True)
class Link:
    source: Entity
    target: Entity
    follow: Follow


@dataclass(frozen=True)
class RowLimits:
    """What one package contributes to row-level jurisdiction."""

    kinds: Sequence[RowLimit] = ()
    deciders: Sequence[Decider] = ()
    links: Sequence[Link] = field(default=())


def _region_prefix(value: str) -> str:
    code = value.strip()
    if not (code.isascii() and code.isdigit() and len(code) in (2, 4, 6)):
        raise ValueError(f"region {value!r}: a GB/T 2260 code prefix has 2, 4 or 6 digits")
    known = code in PROVINCE_ABBREVIATIONS if len(code) == 2 else region_name(code.ljust(6, "0"))
    if not known:
        raise ValueError(f"region {value!r}: not a GB/T 2260 code the hub knows")
    return code


REGIONS: Final = RowLimit(
    name="regions",
    label="行政区划",
    description="region code prefixes (GB/T 2260: 41 province, 4101 city, 410183 district): "
    "projects there, and workers and enterprises through their links to them",
    home=Entity.PROJECT,
    check=_region_prefix,
)
KERNEL_LIMITS: Final = RowLimits(kinds=(REGIONS,))
"""The limits every agency's records can be placed in."""


def bounded_list(info: Any, listing: Entity, applies: Sequence[str]) -> Caller:
    """The caller, after refusing a list root whose SQL cannot apply one of the caller's
    limits (`applies` names those it can): an unbounded page would list what the caller
    may not see and count it."""
    caller = caller_of(info)
    foreign = [name for name, _ in caller.limits if name not in applies]
    if foreign:
        raise Forbidden(
            f"listing {listing.value} entities is not available to a client limited by "
            f"{', '.join(foreign)}; look them up by key or start from an entity you can see",
            limits=foreign,
        )
    return caller
