"""Handlers get their dependencies resolved one at a time, each after the ones it needs."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from api.dependencies import SequentialDependencies

resolved: list[str] = []


def _settings() -> str:
    resolved.append("settings")
    return "s"


def _clock() -> str:
    resolved.append("clock")
    return "c"


def _units(settings: NamedDependency[str]) -> str:
    resolved.append("units")
    return f"units({settings})"


@get("/three", sync_to_thread=False)
def _three(
    settings: NamedDependency[str], clock: NamedDependency[str], units: NamedDependency[str]
) -> dict[str, str]:
    return {"settings": settings, "clock": clock, "units": units}


def _app() -> Litestar:
    return Litestar(
        [_three],
        dependencies={
            "settings": Provide(_settings, use_cache=True, sync_to_thread=False),
            "clock": Provide(_clock, sync_to_thread=False),
            "units": Provide(_units, sync_to_thread=False),
        },
        plugins=[SequentialDependencies()],
    )


def test_every_batch_holds_one_dependency_and_depth_order_is_kept() -> None:
    app = _app()
    routes = [route for route in app.routes if isinstance(route, HTTPRoute)]
    batches = [
        batch
        for route in routes
        for _handler, model in route.route_handler_map.values()
        for batch in model.dependency_batches
    ]
    assert batches
    assert all(len(batch) == 1 for batch in batches)
    names = [next(iter(batch)).key for batch in batches]
    assert sorted(names) == ["clock", "settings", "units"]
    assert names.index("settings") < names.index("units")


def test_a_handler_gets_every_dependency_it_names() -> None:
    resolved.clear()
    with TestClient(_app()) as client:
        answer = client.get("/three")
    assert answer.status_code == 200
    assert answer.json() == {"settings": "s", "clock": "c", "units": "units(s)"}
    assert resolved.index("settings") < resolved.index("units")
