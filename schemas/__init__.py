"""The merged graph: shared scalars, pagination and context (the kernel every connector
may use) and `schemas.graph`, which composes the connectors' contributions."""
