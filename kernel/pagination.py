"""Relay-style connections with keyset cursors: a page costs the same at row 10 and row
10 million, and a cursor stays valid while rows are added. A cursor is the seek key
sealed by the hub (`kernel.cursors`): opaque to the caller, and refused if altered.

    page = open_page(info, first, after)       # page.size, page.after (the seek key)
    rows = await loaders.workers_page(criteria, page.after, page.size + 1)
    return page.connection([(row.id_number, node(row)) for row in rows], count_all)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry

from kernel.access import public_type
from kernel.context import PageLimits, RequestContext
from kernel.cursors import Cursors
from kernel.errors import BadUserInput

NodeT = TypeVar("NodeT")


def page_size(first: int | None, limits: PageLimits) -> int:
    if first is None:
        return limits.default
    if first < 0:
        raise BadUserInput(f"first must not be negative, got {first}")
    if first > limits.maximum:
        raise BadUserInput(f"first={first} exceeds the maximum page size of {limits.maximum}")
    return first


@public_type
@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@public_type
@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@public_type
@strawberry.type(description="One page of a list, Relay style (first/after).")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count_all: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items match the filter, over all pages.")
    async def total_count(self) -> int:
        return await self.count_all()

    @strawberry.field(description="The page's nodes without their cursors.")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


async def _none() -> int:
    return 0


def empty_connection() -> Connection[Any]:
    """What a list answers when nothing can match (a filter naming what the caller cannot
    see): no page, no count."""
    return Connection(
        edges=[],
        page_info=PageInfo(
            has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
        ),
        count_all=_none,
    )


@dataclass(frozen=True)
class Page:
    """One requested page of one list: its size, the key it starts after, and the cursors
    of that list."""

    size: int
    after: str | None
    cursors: Cursors
    where: str

    def connection(
        self, keyed_nodes: Sequence[tuple[str, NodeT]], count_all: Callable[[], Awaitable[int]]
    ) -> Connection[NodeT]:
        """`keyed_nodes` is up to size + 1 (key, node) pairs in key order; the extra one
        only says whether another page follows."""
        page = keyed_nodes[: self.size]
        edges = [Edge(cursor=self.cursors.seal(key, self.where), node=node) for key, node in page]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(keyed_nodes) > self.size,
                has_previous_page=self.after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            count_all=count_all,
        )


def list_coordinate(info: Any) -> str:
    """The list a cursor belongs to: the field that returns the page (`Query.workers`)."""
    return f"{info.path.typename}.{info.field_name}"


def open_page(info: Any, first: int | None, after: str | None) -> Page:
    """The page a list field was asked for: `first` checked against the page limits,
    `after` opened (BadUserInput unless this hub issued it for this list)."""
    context: RequestContext = info.context
    where = list_coordinate(info)
    return Page(
        size=page_size(first, context.limits),
        after=None if after is None else context.cursors.open(after, where),
        cursors=context.cursors,
        where=where,
    )
