"""The README's scope table, generated from the fields' own declarations:
`python -m hub.scope_table` prints it; a test fails when the README's copy is stale."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from strawberry.types.base import StrawberryObjectDefinition

from connectors.base import discover
from graph.schema import HubSchema
from hub.demo import DEMO_GRANTS
from hub.graph import hub_schema
from hub.importing import agency_tables
from kernel.access import SCOPES_KEY
from kernel.scopes import CONNECTOR_LOAD, SCHEMA_INTROSPECT, vocabulary

FIELDLESS = {
    SCHEMA_INTROSPECT: "`__schema`, `__type` when `HUB_ENV=production`",
    CONNECTOR_LOAD: "an agency service's `/connector/load` (the hub's own client only)",
    **{
        tables.scope: f"`POST /ingest/{tables.agency}/<table>`: load {tables.agency}'s own tables"
        f" ({', '.join(tables.names)})"
        for connector in discover()
        if (tables := agency_tables(connector)) is not None
    },
}
"""What a scope that guards no field of the graph allows (each agency's ingest scope
comes with its package)."""


def scope_table(schema: HubSchema) -> str:
    fields: dict[str, dict[str, list[str]]] = {scope: defaultdict(list) for scope in vocabulary()}
    type_sizes: dict[str, int] = {}
    for name, concrete in sorted(schema.schema_converter.type_map.items()):
        definition = concrete.definition
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_input:
            continue
        type_sizes[name] = len(definition.fields)
        for field in definition.fields:
            metadata: Mapping[str, Any] = field.metadata or {}
            for scope in metadata.get(SCOPES_KEY, ()):
                graphql_name = schema.config.name_converter.get_graphql_name(field)
                fields[scope][name].append(graphql_name)
    lines = ["| scope | fields | demo agencies holding it |", "|---|---|---|"]
    for scope in vocabulary():
        by_type = fields[scope]
        described = "; ".join(
            f"`{name}` (all)"
            if len(names) == type_sizes[name]
            else f"`{name}.{{{', '.join(names)}}}`"
            for name, names in sorted(by_type.items())
        )
        holders = ", ".join(g.client_id for g in DEMO_GRANTS if scope in g.scopes) or "—"
        lines.append(f"| `{scope}` | {described or FIELDLESS[scope]} | {holders} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(scope_table(hub_schema()), end="")
