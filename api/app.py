"""The Litestar application factory.

`create_app` wires routes, dependencies, problem+json error handling, the body size limit,
the OpenAPI document and the outermost request middleware (request id, security headers,
access log). `app_from_env` is the entry point for ASGI servers
(`uvicorn --factory api.app:app_from_env`).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, Tag
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler, Scope

from api.analytics import routes as analytics
from api.audit import routes as audit
from api.campaigns import routes as campaigns
from api.campaigns.dtos import contact_rules
from api.composition import (
    Services,
    build_job_worker,
    build_oauth_services,
    build_operational_probe,
    build_services,
    build_tree_head_timer,
    build_web_sessions,
    web_client_secret,
)
from api.consent import routes as consent
from api.console.routes import console_router
from api.console.site import SITE as CONSOLE_SITE
from api.cors import CorsMiddleware, registered_origins
from api.dependencies import SequentialDependencies
from api.dsr import routes as dsr
from api.health import HEALTH_TAG, HealthController
from api.logging import configure_logging
from api.metrics import PROBE_STATE_KEY, RequestTiming, metrics_endpoint
from api.middleware import RequestContextMiddleware
from api.oauth.services import OAuthServices
from api.oauth.wiring import (
    bearer_guard,
    oauth2_security_scheme,
    oauth_dependencies,
    oauth_route_handlers,
)
from api.openapi_doc import ProblemJsonRenderPlugin, openapi_router
from api.portal.routes import portal_router
from api.portal.site import SITE as PORTAL_SITE
from api.problems import EXCEPTION_HANDLERS, handle_http_exception
from api.rate_limit import RateLimit
from api.read_deadline import BodyDeadline
from api.request_bodies import JsonBodyRequest, handle_recursion_error, refuse_an_empty_body
from api.self_service import routes as self_service
from api.settings import Settings, load_settings
from api.support import routes as support
from api.web.errors import not_found_pages
from api.web.pages import template_config
from api.web.routes import static_router
from api.web.wiring import WEB_STATE_KEY, WebWiring

API_VERSION = "0.1.0"
"""The version of the HTTP API document (OpenAPI `info.version`)."""

REQUEST_MAX_BODY_BYTES = 1024 * 1024
"""Larger bodies are refused with 413 before they are read into memory."""

API_DESCRIPTION = (
    "Custodian lets customers read, export and correct their own data, grant and withdraw "
    "consent, and see who accessed their data and why. Privacy officers audit every access. "
    "Every error is an RFC 9457 `application/problem+json` document and every response "
    "carries `X-Request-ID`."
)

# Each feature package lists its own routes and tags (api/<feature>/routes.py).
FEATURES = (self_service, consent, audit, support, dsr, campaigns, analytics)

ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    HealthController,
    metrics_endpoint,
    *(handler for feature in FEATURES for handler in feature.HANDLERS),
]

TAGS = [
    Tag(name=HEALTH_TAG, description="Liveness and readiness probes."),
    *(tag for feature in FEATURES for tag in feature.TAGS),
]


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI settings: served (JSON only) at /schema/openapi.json."""
    return OpenAPIConfig(
        title="Custodian",
        version=API_VERSION,
        description=API_DESCRIPTION,
        tags=TAGS,
        path="/schema",
        use_handler_docstrings=True,
        render_plugins=[ProblemJsonRenderPlugin()],
        openapi_router=openapi_router("/schema"),
    )


def _provide(value: Any) -> Provide:
    def provider() -> Any:
        return value

    return Provide(provider, use_cache=True, sync_to_thread=False)


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    oauth: OAuthServices | None = None,
    worker: bool | None = None,
) -> Litestar:
    """A ready-to-serve application for `settings`.

    Without `services`, builds them from the settings and disposes the engine at shutdown;
    services passed in belong to the caller, who disposes them. `worker` (default
    `settings.in_process_worker`) runs one background job worker for the app's lifetime.
    """
    run_worker = settings.in_process_worker if worker is None else worker
    owned = services is None
    running: Services = services if services is not None else build_services(settings)
    oauth_services = oauth or build_oauth_services(settings, running)
    openapi = openapi_config()
    openapi.components = Components(
        security_schemes={"oauth2": oauth2_security_scheme(settings.issuer)}
    )

    @asynccontextmanager
    async def dispose_on_shutdown(_app: Litestar) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = (
            asyncio.create_task(build_job_worker(settings, running).run(stop))
            if run_worker
            else None
        )
        # The audit log's tree heads on a timer, alongside the background worker.
        timer = (
            asyncio.create_task(build_tree_head_timer(settings, running).run(stop))
            if run_worker
            else None
        )
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            if timer is not None:
                await timer
            await oauth_services.aclose()
            if owned:
                await running.dispose()

    dependencies: dict[str, Provide] = {
        "settings": _provide(settings),
        "readiness": _provide(running.readiness),
        "clock": _provide(running.clock),
        "rules": _provide(contact_rules(settings)),
        "uow_factory": _provide(running.units.customer),
        "consent_units": _provide(running.units.consent),
        "contactability_units": _provide(running.units.contactability),
        "audit_units": _provide(running.units.audit_read),
        "verify_units": _provide(running.units.verify),
        "tree_units": _provide(running.units.tree),
        "campaign_units": _provide(running.units.campaign),
        "grant_units": _provide(running.units.grant),
        "analytics_units": _provide(running.units.analytics),
        "dsr_units": _provide(running.units.dsr),
        **oauth_dependencies(oauth_services),
    }
    web = WebWiring(
        settings=settings,
        clock=running.clock,
        sessions=build_web_sessions(running),
        client_secrets={
            client: web_client_secret(running, client) for client in ("portal", "privacy-console")
        },
        csrf_key=running.master_key.derive("web-csrf"),
    )
    app = Litestar(
        route_handlers=[
            *ROUTE_HANDLERS,
            *oauth_route_handlers(),
            # The pages: the customer portal, the officer console, their stylesheet.
            portal_router(),
            console_router(),
            static_router(),
        ],
        template_config=template_config(),
        # Every /v1 route: the access token, then the scopes the route declares.
        # Then the rate limit, which needs the caller the guard resolved.
        middleware=[
            bearer_guard(oauth_services),
            RateLimit(settings.rate_limit_per_minute, settings.token_rate_limit_per_minute),
        ],
        dependencies=dependencies,
        plugins=[SequentialDependencies()],
        exception_handlers={
            **EXCEPTION_HANDLERS,
            RecursionError: handle_recursion_error,
            # No such route: an HTML page under /portal and /console, else a problem.
            NotFoundException: not_found_pages([PORTAL_SITE, CONSOLE_SITE], handle_http_exception),
        },
        # Every JSON body a handler receives is decoded by the same rules (empty, not JSON,
        # a member named twice: 400).
        request_class=JsonBodyRequest,
        before_request=refuse_an_empty_body,
        openapi_config=openapi,
        request_max_body_size=REQUEST_MAX_BODY_BYTES,
        lifespan=[dispose_on_shutdown],
        state=State(
            {
                "settings": settings,
                "services": running,
                PROBE_STATE_KEY: build_operational_probe(running),
                WEB_STATE_KEY: web,
            }
        ),
        # Our middleware writes the access log and the error handlers log failures (type only);
        # Litestar's own logging config would log tracebacks, which can quote personal data.
        logging_config=None,
        debug=False,
    )
    _allow_every_method_in_options(app)
    # Wrap the whole ASGI handler, not the routes: unknown paths (404) and wrong methods (405)
    # are answered before route middleware runs, and need the same headers and log line.
    # CORS inside the request context (preflights get a request id and a log line) and
    # outside routing (preflights never reach the bearer guard).
    app.asgi_handler = CorsMiddleware(
        app.asgi_handler, registered_origins(oauth_services.uow_factory)
    )
    app.asgi_handler = BodyDeadline(app.asgi_handler, seconds=settings.read_timeout_seconds)
    app.asgi_handler = RequestTiming(app.asgi_handler)
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler, hsts=settings.issuer_is_https)
    return app


def _allow_every_method_in_options(app: Litestar) -> None:
    """Make the framework's answer to OPTIONS name every method of the path.

    Litestar builds that answer when it first registers a path, over the methods known then.
    A controller registers its handlers one at a time, and a second method on the same path
    rebuilds the route but keeps the first answer: OPTIONS /v1/me/profile said
    `Allow: GET, OPTIONS`, without PATCH, while the 405 on the same path named all three.
    Each route's own answer is replaced by one over the route's full set of methods (a route
    with an OPTIONS handler of its own keeps it)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        handler, _ = route.route_handler_map["OPTIONS"]
        if handler.handler_name == "options_handler":  # the framework's, not one of ours
            # Like the framework's, a plain function: the handler was built to call one.
            answer: Any = _options_answer(", ".join(sorted(route.methods)))
            handler._fn = answer


def _options_answer(allow: str) -> Callable[[Scope], Response[None]]:
    def options_handler(scope: Scope) -> Response[None]:
        return Response(content=None, status_code=HTTP_204_NO_CONTENT, headers={"Allow": allow})

    return options_handler


def app_from_env(
    load: Callable[[], Settings] = load_settings,
) -> Litestar:
    """Load settings from the environment, configure logging as they say, build the app."""
    settings = load()
    configure_logging(log_format=settings.log_format)
    app = create_app(settings)
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Exempt what start-up built (modules, routes, mapped tables, settings) from the cyclic
    garbage collector in a server process.

    Those objects live as long as the process; every full collection walked all of them
    again. Under load the collector took about a tenth of the CPU of an audited page read,
    most of it in those walks. What requests allocate is collected as before, with a young
    generation of 10,000 objects rather than 700: a page read allocates thousands that
    reference counting frees anyway, and the default ran a collection every other request.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(10_000, older, oldest)
