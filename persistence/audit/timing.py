"""How long audit appends take, as a Prometheus histogram (rendered by `/metrics`)."""

from __future__ import annotations

from prometheus_client import Histogram

AUDIT_APPEND_SECONDS = Histogram(
    "custodian_audit_append_seconds",
    "Time to append audit events: `read` until the group commit is durable, `write` for the "
    "chain statements inside the caller's transaction.",
    ["path"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
