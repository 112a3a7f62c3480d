"""Customer self-service use cases: one per module. Each opens its own unit of work, appends
the audit event for the access, and commits before returning, so the event is durable before
the response is sent (for writes, in the same transaction as the change)."""
