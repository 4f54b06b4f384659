"""graphql-core's execution with less work per field (`HubExecutor`).

graphql-core's execution was the largest layer of a request's CPU (`bench.layers`): a
dossier executes about a hundred fields, most of them awaited, and for each one
graphql-core looks the field up again, rebuilds its argument values and its list of
nodes, walks the return type's wrappers, and gathers awaited siblings through
`gather_with_cancel` (a task each, then `asyncio.gather` wrapping the tasks again, a done
callback per task). Here the same work is done once per selection per request (a plan)
and awaited siblings run as tasks that each settle their own slot, one future for the
group. Same answers, errors, null propagation and cancellation: the whole suite runs
through this executor; `tests/graph/test_executor.py` checks the paths it changes.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    is_leaf_type,
)
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import collect_iterator_awaitables
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from kernel.access import PLAIN, caller_of
from kernel.context import Disclosures, OperationNotes, notes_of

Slots = Any  # a dict of fields by response name, or a list of items


class _Group:
    """Awaited siblings: how many have not yet settled, and the one future their waiter
    awaits (a result when all have, the first error otherwise)."""

    __slots__ = ("remaining", "settled")

    def __init__(self, settled: asyncio.Future[None], remaining: int) -> None:
        self.settled = settled
        self.remaining = remaining


async def _settle(group: _Group, slots: Slots, key: Any, awaitable: Awaitable[Any]) -> None:
    """One sibling's task: its value into its slot. An error is handed to the group (and
    so retrieved: no "exception never retrieved" for the siblings cancelled after it);
    a cancellation stays this task's."""
    try:
        value = await awaitable
    except Exception as error:
        if not group.settled.done():
            group.settled.set_exception(error)
        return
    slots[key] = value
    group.remaining -= 1
    if not group.remaining and not group.settled.done():
        group.settled.set_result(None)


async def gather_slots(slots: Slots, keys: list[Any]) -> Any:
    """Awaits the awaitables at `keys` of `slots` concurrently, each replaced by its value;
    returns `slots`. As graphql-core's `gather_with_cancel`: the first error cancels the
    siblings still running, waits for them to settle, and is raised; a cancellation of
    the waiter cancels them all and waits for them too. What it saves per sibling: one
    `ensure_future` and `gather`'s second pass over the tasks, its done callback (a loop
    turn each) and its result list."""
    loop = asyncio.get_running_loop()
    group = _Group(loop.create_future(), len(keys))
    tasks = [loop.create_task(_settle(group, slots, key, slots[key])) for key in keys]
    try:
        await group.settled
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return slots


async def _await_one(slots: Slots, key: Any) -> Any:
    slots[key] = await slots[key]
    return slots


class FieldKind(NamedTuple):
    """What a field of a type is, for any request: its definition, resolver and return
    type, unwrapped once (a leaf's coercion is called straight away)."""

    definition: GraphQLField
    resolve: Callable[..., Any] | None
    return_type: GraphQLOutputType
    leaf: GraphQLLeafType | None  # the return type, unwrapped, when it is a scalar or enum
    non_null: bool
    plain: tuple[tuple[str, ...], Callable[[Any, Any], Any]] | None  # kernel.access.PLAIN


class FieldPlan(NamedTuple):
    """One field of a selection, as every execution of that selection needs it."""

    response_name: str
    coordinate: tuple[str, str]  # the parent type's name and the field's
    details: FieldDetailsList
    nodes: list[FieldNode]
    kind: FieldKind
    arguments: dict[str, Any] | None  # None: it takes arguments, computed once a request


FieldKinds = dict[tuple[GraphQLObjectType, str], FieldKind | None]
Plans = dict[int, tuple[GroupedFieldSet, list[FieldPlan | None]]]
_KINDS: WeakKeyDictionary[GraphQLSchema, FieldKinds] = WeakKeyDictionary()


def _field_kind(
    schema: GraphQLSchema, parent_type: GraphQLObjectType, name: str
) -> FieldKind | None:
    definition = schema.get_field(parent_type, name)
    if definition is None:
        return None
    return_type = definition.type
    unwrapped = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    return FieldKind(
        definition,
        definition.resolve,
        return_type,
        unwrapped if is_leaf_type(unwrapped) else None,
        unwrapped is not return_type,
        getattr(definition.resolve, PLAIN, None),
    )


class _ContextOnly(NamedTuple):
    """What a `PLAIN` read is given for `info`: the request's context, all it reads."""

    context: Any


class Shared:
    """What executing one operation collects and plans below its root that is the same
    for every request running it: its sub-selections (graphql-core collects them again
    each request) and their plans. Only for an operation whose selections cannot depend
    on the request's variables: no directive on any selection (`@skip`, `@include`,
    `@defer`), no fragment arguments. Strawberry's parser cache hands the same document
    to every request with the same text, so the operation's identity is the key."""

    __slots__ = ("operation", "plans", "subfields")

    def __init__(self, operation: OperationDefinitionNode) -> None:
        self.operation = operation  # held, so its id (the key) is not reused meanwhile
        self.subfields: dict[tuple[Any, ...], CollectedFields] = {}
        self.plans: Plans = {}


SHARED_OPERATIONS = 256
_SHARED: OrderedDict[int, Shared | None] = OrderedDict()
_SHARED_OPERATIONS: dict[int, OperationDefinitionNode] = {}
_SHARED_LOCK = threading.Lock()
"""Operations run on more than one thread (the CLI's and the importer's event loops)."""


def _constant_selections(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> bool:
    """Whether the operation's selections are the same whatever its variables."""
    if any(fragment.variable_definitions for fragment in fragments.values()):
        return False
    pending: list[Any] = [operation.selection_set]
    pending += [fragment.selection_set for fragment in fragments.values()]
    while pending:
        for selection in pending.pop().selections:
            if selection.directives or (
                getattr(selection, "arguments", None) and not isinstance(selection, FieldNode)
            ):
                return False
            if getattr(selection, "selection_set", None) is not None:
                pending.append(selection.selection_set)
    return True


def shared_for(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> Shared | None:
    """The operation's `Shared`, or None when its selections may vary by request; the
    last `SHARED_OPERATIONS` operations are kept."""
    key = id(operation)
    with _SHARED_LOCK:
        if key in _SHARED and _SHARED_OPERATIONS.get(key) is operation:
            _SHARED.move_to_end(key)
            return _SHARED[key]
    shared = Shared(operation) if _constant_selections(operation, fragments) else None
    with _SHARED_LOCK:
        _SHARED[key] = shared
        _SHARED_OPERATIONS[key] = operation
        while len(_SHARED) > SHARED_OPERATIONS:
            dropped, _ = _SHARED.popitem(last=False)
            _SHARED_OPERATIONS.pop(dropped, None)
    return shared


class HubExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor with shared plans and cheaper gathering (see module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The root selection's plans, keyed by its identity, which the value keeps alive.
        self._plans: Plans = {}
        self._arguments: dict[int, dict[str, Any]] = {}
        self._shared = shared_for(self.operation, self.fragment_definitions)
        kinds = _KINDS.get(self.schema)
        if kinds is None:
            kinds = _KINDS[self.schema] = {}
        self._kinds = kinds
        manager = self.middleware_manager
        self._wrap = manager.get_field_resolver if manager and manager.middlewares else None
        self._context_only = _ContextOnly(self.context_value)
        self._notes: Disclosures | OperationNotes | None = None
        self._missing: dict[tuple[str, ...], tuple[str, ...]] = {}

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        """graphql-core's, once an operation rather than once a request when it can be."""
        shared = self._shared
        if shared is None:
            return super().collect_subfields(return_type, field_details_list)
        key = (return_type, *[id(details.node) for details in field_details_list])
        collected = shared.subfields.get(key)
        if collected is None:
            collected = shared.subfields[key] = super().collect_subfields(
                return_type, field_details_list
            )
        return collected

    def _plan(
        self, parent_type: GraphQLObjectType, selection: GroupedFieldSet, root: bool
    ) -> list[FieldPlan | None]:
        plans = self._plans if root or self._shared is None else self._shared.plans
        planned = plans.get(id(selection))
        if planned is not None and planned[0] is selection:
            return planned[1]
        planned = (
            selection,
            [self._plan_field(parent_type, *field) for field in selection.items()],
        )
        plans[id(selection)] = planned
        return planned[1]

    def _plan_field(
        self, parent_type: GraphQLObjectType, response_name: str, details: FieldDetailsList
    ) -> FieldPlan | None:
        first = details[0].node
        name = first.name.value
        try:
            kind = self._kinds[parent_type, name]
        except KeyError:
            kind = self._kinds[parent_type, name] = _field_kind(self.schema, parent_type, name)
        if kind is None:
            return None
        takes = kind.definition.args or first.arguments
        nodes = [field.node for field in details]
        coordinate = (parent_type.name, name)
        return FieldPlan(response_name, coordinate, details, nodes, kind, None if takes else {})

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        """graphql-core's, through the selection's plan and `gather_slots`; a deferred
        selection (`@defer`, which the hub's schema does not declare) graphql-core's way."""
        if position_context is not None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaited: list[str] = []
        type_name = parent_type.name
        plain_ok = self._wrap is None
        try:
            for plan in self._plan(parent_type, grouped_field_set, path is None):
                if plan is None:
                    continue
                name = plan.response_name
                if plan.kind.plain is not None and plain_ok:
                    result = self._execute_plain(
                        plan, parent_type, source_value, Path(path, name, type_name)
                    )
                else:
                    result = self._execute_planned(
                        plan, parent_type, source_value, Path(path, name, type_name)
                    )
                results[name] = result
                if is_awaitable(result):
                    awaited.append(name)
        except Exception:
            if awaited:
                self.settle_in_background([results[name] for name in awaited])
            raise
        if not awaited:
            return results
        if len(awaited) == 1:
            return _await_one(results, awaited[0])
        return gather_slots(results, awaited)

    def _execute_planned(
        self, plan: FieldPlan, parent_type: GraphQLObjectType, source: Any, path: Path
    ) -> Any:
        """graphql-core's `execute_field` for a planned field."""
        kind = plan.kind
        resolve = kind.resolve or self.field_resolver
        if self._wrap is not None:
            resolve = self._wrap(resolve)
        info = self.build_resolve_info(kind.definition, plan.nodes, parent_type, path)
        try:
            arguments = plan.arguments
            if arguments is None:
                arguments = self._arguments.get(id(plan))
                if arguments is None:  # the same for every execution in this request
                    first = plan.details[0]
                    arguments = self._arguments[id(plan)] = get_argument_values(
                        kind.definition,
                        first.node,
                        self.variable_values,
                        first.fragment_variable_values,
                        self.hide_suggestions,
                    )
            result = resolve(source, info, **arguments)
            if self.is_awaitable(result):
                return self._complete_awaited(plan, info, path, result)
            completed = self._complete_planned(plan, info, path, result)
            if plan.kind.leaf is None and self.is_awaitable(completed):
                return self._await_completed(plan, path, completed)
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.kind.return_type, plan.details, path)
            return None
        return completed

    def _execute_plain(
        self, plan: FieldPlan, parent_type: GraphQLObjectType, source: Any, path: Path
    ) -> Any:
        """What the field's fast resolver and `_execute_planned` do for a caller that holds
        the field's scopes (`kernel.access.PLAIN`), without the resolve info they need
        only otherwise: the scopes checked once a request, the read noted where the
        resolver notes it, a leaf's value coerced at once. A caller without the scopes
        (masked, refused), a value still to come or anything unusual: the general path,
        from where the resolver would have returned."""
        kind = plan.kind
        scopes, read = kind.plain  # type: ignore[misc]
        missing = self._missing.get(scopes)
        if missing is None:
            missing = self._missing[scopes] = caller_of(self._context_only).missing(scopes)
        if missing:
            return self._execute_planned(plan, parent_type, source, path)
        try:
            notes = self._notes
            if notes is None:
                notes = self._notes = notes_of(self._context_only)
            notes.read(plan.coordinate, scopes, path)
            value = read(source, self._context_only)
            leaf = kind.leaf
            if (
                leaf is not None
                and value is not None
                and value is not Undefined
                and not isinstance(value, Exception)
                and not self.is_awaitable(value)
            ):
                coerced = leaf.coerce_output_value(value)
                if coerced is not Undefined and coerced is not None:
                    return coerced
            info = self.build_resolve_info(kind.definition, plan.nodes, parent_type, path)
            if self.is_awaitable(value):
                return self._complete_awaited(plan, info, path, value)
            completed = self._complete_planned(plan, info, path, value)
            if leaf is None and self.is_awaitable(completed):
                return self._await_completed(plan, path, completed)
        except Exception as raw_error:
            self.handle_field_error(raw_error, kind.return_type, plan.details, path)
            return None
        return completed

    def _complete_planned(
        self, plan: FieldPlan, info: GraphQLResolveInfo, path: Path, result: Any
    ) -> Any:
        """`complete_value` with a leaf's wrappers already unwrapped; anything else (lists,
        objects, abstract types) graphql-core's."""
        kind = plan.kind
        leaf = kind.leaf
        if leaf is None:
            return self.complete_value(kind.return_type, plan.details, info, path, result, None)
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            if kind.non_null:
                raise TypeError(
                    "Cannot return null for non-nullable field"
                    f" {info.parent_type}.{info.field_name}."
                )
            return None
        coerced = leaf.coerce_output_value(result)
        if coerced is Undefined or coerced is None:
            return self.complete_leaf_value(leaf, result)  # raises graphql-core's error
        return coerced

    async def _complete_awaited(
        self, plan: FieldPlan, info: GraphQLResolveInfo, path: Path, result: Any
    ) -> Any:
        """graphql-core's `complete_awaitable_value`, without its abort-signal coroutine
        when there is no signal (the hub gives none)."""
        try:
            if self.abort_signal is None:
                resolved = await result
            else:
                resolved = await self.with_abort_signal(result)
            completed = self._complete_planned(plan, info, path, resolved)
            if plan.kind.leaf is None and self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.kind.return_type, plan.details, path)
            return None
        return completed

    async def _await_completed(self, plan: FieldPlan, path: Path, completed: Any) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.kind.return_type, plan.details, path)
            return None

    async def complete_awaitable_list_item_value(
        self,
        item: Any,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        item_path: Path,
        position_context: Any,
    ) -> Any:
        """graphql-core's, without its abort-signal coroutine when there is no signal."""
        if self.abort_signal is not None:
            return await super().complete_awaitable_list_item_value(
                item, item_type, field_details_list, info, item_path, position_context
            )
        try:
            completed = self.complete_value(
                item_type, field_details_list, info, item_path, await item, position_context
            )
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, item_path)
            return None
        return completed

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> Any:
        """graphql-core's, its awaited items through `gather_slots`; a streamed list
        (`@stream`, which the hub's schema does not declare) graphql-core's own way."""
        if self.get_stream_usage(field_details_list, path) is not None:
            return super().complete_iterable_value(
                item_type, field_details_list, info, path, items, position_context
            )
        is_awaitable = self.is_awaitable
        completed: list[Any] = []
        awaited: list[int] = []
        iterator = iter(items)
        index = 0
        try:
            for item in iterator:
                item_path = path.add_key(index, None)
                if is_awaitable(item):
                    completed.append(
                        self.complete_awaitable_list_item_value(
                            item, item_type, field_details_list, info, item_path, position_context
                        )
                    )
                    awaited.append(index)
                elif self.complete_list_item_value(
                    item,
                    completed,
                    item_type,
                    field_details_list,
                    info,
                    item_path,
                    position_context,
                ):
                    awaited.append(index)
                index += 1
        except Exception:
            pending = [completed[index] for index in awaited]
            pending.extend(collect_iterator_awaitables(iterator, is_awaitable))
            if pending:
                self.settle_in_background(pending)
            raise
        if not awaited:
            return completed
        if len(awaited) == 1:
            return _await_one(completed, awaited[0])
        return gather_slots(completed, awaited)
