"""Dependencies resolved one after another, not in a task group per request.

Litestar resolves the dependencies a handler needs at the same depth concurrently, inside an
anyio task group: a task group, a cancel scope and one task each, on every request. Custodian's
dependencies are all synchronous look-ups of values built at start-up (settings, unit-of-work
factories, the caller the bearer guard resolved), for which concurrency buys nothing; measured
on this app, a handler with two of them cost 60 microseconds more than with one, about a
twentieth of an audited profile read. (Upstream: litestar-org/litestar issue 4563.)

`SequentialDependencies` receives every route as it is registered and splits each batch of
its handlers' dependencies into batches of one, in the same order of depth: every dependency
still comes after the ones it needs, and `resolve_dependencies` then awaits each in turn.
"""

from __future__ import annotations

from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute


class SequentialDependencies(ReceiveRoutePlugin):
    """Resolves each HTTP handler's dependencies one at a time (see the module doc)."""

    __slots__ = ()

    def receive_route(self, route: BaseRoute) -> None:
        """Split the dependency batches of every handler of `route` into batches of one."""
        if not isinstance(route, HTTPRoute):
            return
        for _handler, kwargs_model in route.route_handler_map.values():
            kwargs_model.dependency_batches = [
                {dependency} for batch in kwargs_model.dependency_batches for dependency in batch
            ]
