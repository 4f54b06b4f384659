"""`graph.executor.HubExecutor` answers as graphql-core's executor does (strawberry's, which
it replaces): the same data and errors, the same null propagation, and no task left
running when a request fails or is cancelled. The whole suite runs through it too; these
are the paths it changes (plans reused across a list, gathering, arguments per node)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import strawberry
from graphql import DocumentNode, OperationDefinitionNode, execute, parse
from strawberry.extensions import ParserCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.executor import HubExecutor, gather_slots, shared_for

STARTED: list[str] = []
CANCELLED: list[str] = []


async def _hang(name: str) -> int:
    STARTED.append(name)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        CANCELLED.append(name)
        raise
    return 0  # pragma: no cover


@strawberry.type
class Item:
    n: int

    @strawberry.field
    async def later(self) -> int:
        await asyncio.sleep(0)
        return self.n

    @strawberry.field
    def times(self, k: int, plus: int = 0) -> int:
        return self.n * k + plus

    @strawberry.field
    async def fails(self) -> int | None:
        await asyncio.sleep(0)
        if self.n % 2:
            raise ValueError(f"odd {self.n}")
        return self.n

    @strawberry.field
    async def must(self) -> int:
        await asyncio.sleep(0)
        if self.n == 3:
            raise ValueError("three")
        return self.n

    @strawberry.field
    def wrong(self) -> int | None:
        return "not a number"  # type: ignore[return-value]

    @strawberry.field
    def absent(self) -> int:
        return None  # type: ignore[return-value]

    @strawberry.field
    async def hangs(self) -> int:
        return await _hang(f"item {self.n}")

    @strawberry.field
    async def child(self) -> Item | None:
        await asyncio.sleep(0)
        return Item(n=self.n + 10)


@strawberry.type
class Query:
    @strawberry.field
    def items(self, count: int = 5) -> list[Item]:
        return [Item(n=n) for n in range(1, count + 1)]

    @strawberry.field
    async def maybe(self) -> list[Item | None]:
        await asyncio.sleep(0)
        return [Item(n=1), Item(n=2), Item(n=3), Item(n=4)]


def _schema(executor: type) -> strawberry.Schema:
    return strawberry.Schema(query=Query, execution_context_class=executor)


DOCUMENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("{ items { n later a: times(k: 2) b: times(k: 3, plus: 1) c: times(k: $k) } }", {"k": 7}),
    ("{ items { n fails later child { n fails later } } }", {}),
    ("{ maybe { n must later } }", {}),
    ("{ items(count: 4) { n must } }", {}),
    ("{ items(count: 3) { wrong absent n } }", {}),
    ("{ items(count: 2) { times(k: $k) } }", {"k": "x"}),
)


@pytest.mark.parametrize(("document", "variables"), DOCUMENTS)
def test_answers_as_graphql_core(document: str, variables: dict[str, Any]) -> None:
    asyncio.run(_answers_as_graphql_core(document, variables))


async def _answers_as_graphql_core(document: str, variables: dict[str, Any]) -> None:
    query = document.replace("{", "query Q($k: Int!) {", 1) if "$k" in document else document
    answers = []
    for executor in (StrawberryGraphQLCoreExecutionContext, HubExecutor):
        result = await _schema(executor).execute(query, variable_values=variables)
        errors = [(e.message, e.path) for e in result.errors or ()]
        answers.append((result.data, sorted(errors, key=str)))
    assert answers[0] == answers[1]
    assert answers[1][0] is not None or answers[1][1]  # an answer, or why not


def test_arguments_per_field_node_over_a_list() -> None:
    asyncio.run(_arguments_per_field_node_over_a_list())


async def _arguments_per_field_node_over_a_list() -> None:
    """Each aliased selection keeps its own arguments for every object of the list (the
    plan computes them once a request, not once a schema), and a variable's value is the
    request's."""
    schema = _schema(HubExecutor)
    document = "query Q($k: Int!) { items(count: 3) { a: times(k: 2) b: times(k: $k, plus: 1) } }"
    for k in (5, 9):
        result = await schema.execute(document, variable_values={"k": k})
        assert result.errors is None
        assert result.data == {
            "items": [{"a": 2 * n, "b": k * n + 1} for n in (1, 2, 3)],
        }


def test_a_failing_sibling_cancels_the_running_ones_and_waits_for_them() -> None:
    asyncio.run(_a_failing_sibling_cancels_the_running_ones_and_waits_for_them())


async def _a_failing_sibling_cancels_the_running_ones_and_waits_for_them() -> None:
    settled: list[str] = []

    async def fails() -> int:
        await asyncio.sleep(0)
        raise ValueError("first")

    async def hangs() -> int:
        try:
            await asyncio.Event().wait()
        finally:
            settled.append("hangs")
        return 0  # pragma: no cover

    async def answers() -> int:
        return 1

    before = asyncio.all_tasks()
    slots: dict[str, Any] = {"a": answers(), "b": fails(), "c": hangs()}
    with pytest.raises(ValueError, match="first"):
        await asyncio.wait_for(gather_slots(slots, ["a", "b", "c"]), 5)
    assert settled == ["hangs"]  # cancelled and settled before the error was raised
    assert asyncio.all_tasks() == before


def test_the_values_replace_the_awaitables_in_place() -> None:
    asyncio.run(_the_values_replace_the_awaitables_in_place())


async def _the_values_replace_the_awaitables_in_place() -> None:
    async def value(n: int) -> int:
        await asyncio.sleep(0)
        return n

    items: list[Any] = [0, value(1), 2, value(3)]
    assert await gather_slots(items, [1, 3]) == [0, 1, 2, 3]


def test_a_cancelled_request_leaves_no_task_running() -> None:
    asyncio.run(_a_cancelled_request_leaves_no_task_running())


async def _a_cancelled_request_leaves_no_task_running() -> None:
    """A request timeout cancels the operation's task: every field still waiting is
    cancelled with it, and none is left running."""
    STARTED.clear()
    CANCELLED.clear()
    before = asyncio.all_tasks()
    running = asyncio.ensure_future(
        _schema(HubExecutor).execute("{ items(count: 4) { n later hangs } }")
    )
    for _ in range(20):
        await asyncio.sleep(0)
    assert sorted(STARTED) == [f"item {n}" for n in range(1, 5)]
    running.cancel()
    done, _ = await asyncio.wait({running}, timeout=5)  # it waits for its fields to settle
    assert running in done
    assert running.cancelled()
    assert sorted(CANCELLED) == sorted(STARTED)
    assert asyncio.all_tasks() == before


def test_the_hub_schema_executes_through_it() -> None:
    from graph.schema import build_schema

    assert build_schema().execution_context_class is HubExecutor


def test_a_selection_that_depends_on_variables_is_collected_each_request() -> None:
    """The same parsed operation (strawberry's parser cache) with `@include(if: $f)`
    answers each request by its own variables: such an operation shares no plans."""
    schema = strawberry.Schema(
        query=Query, execution_context_class=HubExecutor, extensions=[ParserCache]
    )
    document = "query Q($f: Boolean!) { items(count: 2) { n later @include(if: $f) } }"
    for flag in (True, False, True):
        result = asyncio.run(schema.execute(document, variable_values={"f": flag}))
        assert result.errors is None
        assert result.data == {
            "items": [{"n": n, "later": n} if flag else {"n": n} for n in (1, 2)]
        }
    with_directive = parse(document).definitions[0]
    without = parse("{ items { n child { n } } }").definitions[0]
    assert isinstance(with_directive, OperationDefinitionNode)
    assert isinstance(without, OperationDefinitionNode)
    assert shared_for(with_directive, {}) is None
    assert shared_for(without, {}) is not None


def test_one_parsed_operation_on_two_schemas() -> None:
    """Plans shared by an operation are the schema's own: the same document object run
    on two schemas answers from each one's resolvers."""

    @strawberry.type
    class Other:
        @strawberry.field
        def items(self, count: int = 5) -> list[Item]:
            return [Item(n=100 + n) for n in range(count)]

    document = parse("{ items(count: 2) { n a: times(k: 2) child { n } } }")
    for query, first in ((Query, 1), (Other, 100), (Query, 1)):
        schema = strawberry.Schema(query=query)
        result = asyncio.run(_execute(schema, document))
        assert result.errors is None
        assert result.data == {
            "items": [{"n": n, "a": 2 * n, "child": {"n": n + 10}} for n in (first, first + 1)]
        }


async def _execute(schema: strawberry.Schema, document: DocumentNode) -> Any:
    result = execute(schema._schema, document, executor_class=HubExecutor)
    return await result if asyncio.iscoroutine(result) else result
