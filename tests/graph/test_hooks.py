"""`graph.hooks`: the hub's schema enters its extensions' hooks as strawberry does —
each step's hooks in the extensions' order, left in reverse, an error raised in the
operation reaching the hooks still open — with generator, async generator and plain
hooks, and a hook replaced on its class is the one that runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from graph.schema import HubSchema
from kernel.errors import BadUserInput

ran: list[str] = []


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        ran.append("resolve")
        return "hi"

    @strawberry.field
    def broken(self) -> str:
        raise BadUserInput("broken")


class Generators(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        ran.append("operation generator in")
        yield
        ran.append("operation generator out")

    def on_parse(self) -> Iterator[None]:
        ran.append("parse in")
        yield
        ran.append("parse out")

    def on_execute(self) -> Iterator[None]:
        ran.append("execute in")
        try:
            yield
        finally:
            ran.append("execute out")


class AsyncGenerators(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        ran.append("operation async in")
        yield
        ran.append("operation async out")

    async def on_validate(self) -> AsyncIterator[None]:
        ran.append("validate async in")
        yield
        ran.append("validate async out")


class Plain(SchemaExtension):
    def on_operation(self) -> None:  # type: ignore[override]
        ran.append("operation plain")


class StrawberrysRunner(HubSchema):
    create_extensions_runner = strawberry.Schema.create_extensions_runner  # type: ignore[assignment]


def _ran(schema: strawberry.Schema, document: str) -> tuple[list[str], object, list[str]]:
    ran.clear()
    result = asyncio.run(schema.execute(document))
    return list(ran), result.data, [error.message for error in result.errors or ()]


@pytest.mark.parametrize("document", ["{ hello }", "{ broken }", "{ nope }", "{"])
def test_hooks_run_as_strawberry_runs_them(document: str) -> None:
    extensions = [Generators, AsyncGenerators, Plain]
    ours = HubSchema(query=Query, extensions=extensions)
    theirs = StrawberrysRunner(query=Query, extensions=extensions)
    for _ in range(2):  # the second time from the kept wrappings
        assert _ran(ours, document) == _ran(theirs, document)
    assert _ran(ours, document)[0][:2] == ["operation generator in", "operation async in"]


def test_a_hook_replaced_on_its_class_is_the_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = HubSchema(query=Query, extensions=[Generators])
    assert "parse in" in _ran(schema, "{ hello }")[0]

    def replaced(self: Generators) -> Iterator[None]:
        ran.append("replaced")
        yield

    monkeypatch.setattr(Generators, "on_parse", replaced)
    found = _ran(schema, "{ hello }")[0]
    assert "replaced" in found
    assert "parse in" not in found
