"""The tamper-evident audit log: one record per request to /graphql and /oauth/token,
written before the response leaves (fail closed), chained by hashes and checkpointed with
the hub's signing key, in its own database (`HUB_AUDIT_DB_URL`)."""
