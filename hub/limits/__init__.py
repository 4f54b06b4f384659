"""Operation limits, trusted documents and rate limits: what keeps hostile or heavy
requests from reaching the connectors.

    refusal.py        the limit codes, and `record`: the one place every refusal passes
    operation.py      depth, aliases, root fields, directives and cost (a validation rule)
    requests.py       the /graphql request body: size, content type, JSON, batches,
                      document size, variables, trusted documents (ASGI middleware)
    documents.py      trusted documents by SHA-256 (`hub documents add FILE`)
    rates.py          token buckets per client, in process or in Redis (ASGI middleware)
    introspection.py  introspection only with the `schema:introspect` scope (production)
    pipeline.py       the schema extensions, built once at start-up
"""
