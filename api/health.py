"""Operational probes: `/healthz` (the process answers) and `/readyz` (it can serve).

Readiness needs the database reachable and its schema at the newest migration; a load
balancer keeps traffic away until both hold. The check itself lives in the composition
root (it touches the database); this module only sees the ReadinessProbe port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import SkipValidation

from api.problems import ProblemException

HEALTH_TAG = "operations"


@dataclass(frozen=True, slots=True)
class Readiness:
    """What the readiness check found. `migrations_at_head` is False when it could not tell."""

    database_ok: bool
    migrations_at_head: bool

    @property
    def ready(self) -> bool:
        """Whether the process can serve requests."""
        return self.database_ok and self.migrations_at_head


class ReadinessProbe(Protocol):
    async def __call__(self) -> Readiness:
        """Check the database and the schema version; never raises, never hangs for long."""
        ...


class Health(msgspec.Struct, frozen=True):
    """The process is up."""

    status: str


class Ready(msgspec.Struct, frozen=True):
    """The process can serve: the database answers and its schema is at the newest revision."""

    status: str
    database: str
    migrations: str


class ServiceIndex(msgspec.Struct, frozen=True):
    """Where to start, as paths on this server: the API description, the OAuth
    authorization server's metadata, the customer portal, the officer console, the probes."""

    service: str
    openapi: str
    authorization_server: str
    portal: str
    console: str
    health: str
    readiness: str


_INDEX = ServiceIndex(
    service="Custodian: customer data self-service",
    openapi="/schema/openapi.json",
    authorization_server="/.well-known/oauth-authorization-server",
    portal="/portal",
    console="/console",
    health="/healthz",
    readiness="/readyz",
)


class HealthController(Controller):
    """The service index, and liveness and readiness probes for orchestrators and load
    balancers."""

    tags = [HEALTH_TAG]

    @get("/", operation_id="getServiceIndex", summary="Where to start")
    async def index(self) -> ServiceIndex:
        """Links to what a newcomer looks for first: the OpenAPI document, the OAuth metadata
        (endpoints, scopes), the web pages and the probes. Touches nothing."""
        return _INDEX

    @get("/healthz", operation_id="getHealth", summary="Liveness probe")
    async def healthz(self) -> Health:
        """200 as long as the process runs its event loop; touches nothing else."""
        return Health(status="ok")

    @get(
        "/readyz",
        operation_id="getReadiness",
        summary="Readiness probe",
        responses={
            503: ResponseSpec(
                None,
                description="Not ready: the database is unreachable or its schema is not at head",
            )
        },
    )
    async def readyz(self, readiness: NamedDependency[SkipValidation[ReadinessProbe]]) -> Ready:
        """200 when the database answers and migrations are at head, else a 503 problem."""
        found = await readiness()
        if found.ready:
            return Ready(status="ready", database="ok", migrations="head")
        if not found.database_ok:
            detail = "The database is not reachable."
            migrations = "unknown"
        else:
            detail = "The database schema is not at the newest migration; run `custodian migrate`."
            migrations = "behind"
        raise ProblemException(
            503,
            detail,
            problem_type="urn:custodian:problem:not-ready",
            headers={"Retry-After": "5"},
            extensions={
                "database": "ok" if found.database_ok else "unreachable",
                "migrations": migrations,
            },
        )
