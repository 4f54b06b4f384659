"""Warnings that reach people: events derived from the data as it changes
(`graph.events` observes, `alerts.rules` decides what changed), agencies' subscriptions
and their signed webhooks (a durable queue in the hub's own database), and the work
orders (工单) that record what each agency did about a warning."""
