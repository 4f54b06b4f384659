"""The bottom layer: what every other package may use — scalars and identifiers, errors and
their codes, the scope vocabulary, the caller, field access, the per-request context,
batching, pagination and the composition of contributions into one graph."""
