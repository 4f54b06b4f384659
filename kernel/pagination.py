"""Relay-style connections with keyset cursors: a page costs the same at row 10 and row
10 million, and a cursor stays valid while rows are added."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from kernel.access import public_type
from kernel.context import PageLimits
from kernel.errors import BadUserInput

NodeT = TypeVar("NodeT")
_CURSOR_PREFIX = "k:"


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{key}".encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded.startswith(_CURSOR_PREFIX):
        raise BadUserInput(f"cursor {cursor!r} is not one this hub issued; pass an endCursor back")
    return decoded[len(_CURSOR_PREFIX) :]


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


def build_connection(
    keyed_nodes: Sequence[tuple[str, NodeT]],
    size: int,
    after: str | None,
    count_all: Callable[[], Awaitable[int]],
) -> Connection[NodeT]:
    """`keyed_nodes` is up to size + 1 (key, node) pairs in key order; the extra one only
    says whether another page follows."""
    page = keyed_nodes[:size]
    edges = [Edge(cursor=encode_cursor(key), node=node) for key, node in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(keyed_nodes) > size,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count_all=count_all,
    )
