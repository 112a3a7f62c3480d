"""Prometheus metrics at GET /metrics.

- `custodian_http_request_duration_seconds{method, route, status}`: every response, by route
  template (never the raw path, which can carry ids).
- `custodian_jobs_queued` and `custodian_job_oldest_queued_age_seconds`: the durable job
  queue, read from the database when scraped (the same figures from every process).
- `custodian_audit_append_seconds{path}`: audit appends (fed by the storage layer).
- `custodian_audit_checkpoint_age_seconds`: how old the newest signed checkpoint is.
- `custodian_metrics_database_up`: 0 when the scrape could not read the database figures.

Counters and histograms are per process (prometheus_client's default registry): with several
worker processes, scrape each (or run one per container), as usual for Python services. The
endpoint is public like /healthz: it carries no personal data, ids or tokens; restrict it at
the network edge where that matters.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Protocol

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from api.logging import get_logger

METRICS_TAG = "metrics"
PROBE_STATE_KEY = "metrics_probe"

HTTP_SECONDS = Histogram(
    "custodian_http_request_duration_seconds",
    "Time from request to the end of the response, by route template.",
    ["method", "route", "status"],
)
JOBS_QUEUED = Gauge("custodian_jobs_queued", "Background jobs waiting to run.")
OLDEST_JOB_AGE = Gauge(
    "custodian_job_oldest_queued_age_seconds",
    "Age of the oldest waiting background job (0 when none waits).",
)
CHECKPOINT_AGE = Gauge(
    "custodian_audit_checkpoint_age_seconds",
    "Age of the newest signed audit checkpoint (-1 when none exists yet).",
)
DATABASE_UP = Gauge(
    "custodian_metrics_database_up", "1 when the last scrape read the database figures."
)
_log = get_logger("custodian.metrics")


class Figures(Protocol):
    """What the operational probe reports (see the storage layer's OperationalProbe)."""

    @property
    def queued_jobs(self) -> int: ...

    @property
    def oldest_queued_job_at(self) -> datetime | None: ...

    @property
    def newest_checkpoint_at(self) -> datetime | None: ...


class FiguresSource(Protocol):
    async def figures(self) -> Figures:
        """The current figures, read from the database."""
        ...


class RequestTiming:
    """Times every HTTP response (outermost but for the request context)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Observe the request's duration once its response is sent."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("path_template") or "(unmatched)"
            HTTP_SECONDS.labels(scope.get("method", "?"), route, str(status)).observe(
                time.perf_counter() - started
            )


async def _refresh(source: FiguresSource | None) -> None:
    if source is None:
        DATABASE_UP.set(0)
        return
    try:
        figures = await source.figures()
    except Exception as error:  # noqa: BLE001 - a scrape must answer even when the DB does not
        _log.warning("metrics figures unavailable", exc_type=type(error).__name__)
        DATABASE_UP.set(0)
        return
    now = datetime.now(UTC)
    JOBS_QUEUED.set(figures.queued_jobs)
    oldest = figures.oldest_queued_job_at
    OLDEST_JOB_AGE.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    newest = figures.newest_checkpoint_at
    CHECKPOINT_AGE.set(max(0.0, (now - newest).total_seconds()) if newest else -1.0)
    DATABASE_UP.set(1)


_EXPOSITION_WITHOUT_CHARSET = CONTENT_TYPE_PLAIN_0_0_4.removesuffix("; charset=utf-8")


@get(
    "/metrics",
    operation_id="getMetrics",
    tags=[METRICS_TAG],
    media_type=CONTENT_TYPE_PLAIN_0_0_4,
    summary="Prometheus metrics",
)
async def metrics_endpoint(request: Request[Any, Any, State]) -> Response[bytes]:
    """Request latency by route, job queue depth and age, audit append latency and the age
    of the newest signed checkpoint, in the Prometheus text format."""
    await _refresh(request.app.state.get(PROBE_STATE_KEY))
    # Litestar appends "; charset=utf-8" to a text type itself: given Prometheus's whole
    # content type, it sent the charset twice.
    return Response(generate_latest(REGISTRY), media_type=_EXPOSITION_WITHOUT_CHARSET)
