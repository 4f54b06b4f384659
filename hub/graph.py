"""The hub's whole graph: every agency's fields, the cross-agency fields (`graph.derived`),
the audit log's readers, and the warnings' subscriptions and work orders (`alerts.graph`,
with the only mutations). `python -m hub.graph` prints its SDL (`make schema`
refreshes the committed schema.graphql)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alerts import graph as alerts_graph
from audit import graph as audit_graph
from graph.schema import ExtensionFactory, HubSchema, build_schema


def hub_schema(extensions: Sequence[ExtensionFactory] = (), **options: Any) -> HubSchema:
    return build_schema(
        extensions,
        extra=(audit_graph.CONTRIBUTION, alerts_graph.CONTRIBUTION),
        mutation=alerts_graph.MUTATION,
        subscription=alerts_graph.SUBSCRIPTION,
        **options,
    )


if __name__ == "__main__":
    print(hub_schema().as_str())
