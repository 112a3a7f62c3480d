"""OWASP API1/API3: every /v1 route of the app (enumerated from the router, so a new route
cannot be forgotten) refuses no token (401) and a token without its scope (403), customer
A can never reach customer B's resources (404, exactly like a missing id), and no answer
carries a member the committed OpenAPI document does not declare (excessive data exposure):
every object is read as `additionalProperties: false` unless the document says otherwise."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from oauth_harness import World
from self_service_seed import (
    Person,
    body,
    resource_ids,
    seed_person,
    successful_call,
    url_for,
)

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def v1_operations(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    """(method, path template, handler) of every /v1 route."""
    found = []
    for route in app.routes:
        if not route.path.startswith("/v1"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                found.append((method, route.path, handler))
    return found


def _app(world: World) -> Litestar:
    app: Any = world.http._transport.app  # type: ignore[attr-defined]
    return app  # type: ignore[no-any-return]


def _fill(path: str, ids: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: ids.get(m.group(1), "unknown"), path)


async def test_every_route_refuses_no_token_and_a_token_without_its_scope(world: World) -> None:
    operations = v1_operations(_app(world))
    assert len(operations) >= 12  # the router really was enumerated
    await world.add_customer("narrow@example.org")
    narrow = (await world.tokens_for("narrow@example.org", scope="profile:read"))["access_token"]
    for method, path, handler in operations:
        url = _fill(path, {})
        anonymous = await world.http.request(method, url)
        assert anonymous.status_code == 401, (method, path)
        scopes = handler.opt.get("scopes") or ()
        assert scopes, f"{method} {path} declares no scopes"
        if "profile:read" in scopes:
            continue
        refused = await world.http.request(
            method, url, headers={"Authorization": f"Bearer {narrow}"}
        )
        assert refused.status_code == 403, (method, path)


async def test_options_names_the_allowed_methods_to_a_signed_in_caller_only(
    world: World,
) -> None:
    await world.add_customer("narrow@example.org")
    narrow = (await world.tokens_for("narrow@example.org", scope="profile:read"))["access_token"]
    anonymous = await world.http.options("/v1/me/profile")
    assert anonymous.status_code == 401
    for path in ("/v1/me/profile", "/v1/me/accounts", "/v1/privacy/requests"):
        answered = await world.http.options(path, headers={"Authorization": f"Bearer {narrow}"})
        assert answered.status_code == 204, (path, answered.text)
        assert "GET" in answered.headers["allow"], path
        assert answered.content == b""


async def test_options_names_every_method_of_every_path(world: World) -> None:
    # A path whose methods were registered one at a time once answered with the first
    # method alone (OPTIONS /v1/me/profile: "GET, OPTIONS", without PATCH).
    await world.add_customer("narrow@example.org")
    narrow = (await world.tokens_for("narrow@example.org", scope="profile:read"))["access_token"]
    routes = [route for route in _app(world).routes if isinstance(route, HTTPRoute)]
    assert len(routes) >= 40  # the router really was enumerated
    for route in routes:
        answered = await world.http.options(
            _fill(route.path, {"file_path": "portal.css"}),
            headers={"Authorization": f"Bearer {narrow}"},
        )
        assert answered.status_code == 204, (route.path, answered.text)
        assert answered.headers["allow"] == ", ".join(sorted(route.methods)), route.path


async def test_a_customer_never_reaches_another_customers_resources(world: World) -> None:
    ada: Person = await seed_person(world, "ada@example.org")
    bob: Person = await seed_person(world, "bob@example.org")
    ask = {
        "target": {
            "type": "transaction",
            "id": str(bob.transaction_ids[0]),
            "field": "description",
        },
        "requested_value": "x",
        "reason": "y",
    }
    correction = await world.http.post("/v1/me/corrections", json=ask, headers=bob.auth)
    bob_ids = {
        "account_id": str(bob.account_id),
        "transaction_id": str(bob.transaction_ids[0]),
        "interaction_id": str(bob.interaction_ids[0]),
        "correction_id": correction.json()["id"],
    }
    checked = 0
    for method, path, handler in v1_operations(_app(world)):
        names = set(_PARAM.findall(path))
        if not names or not path.startswith("/v1/me") or not names <= set(bob_ids):
            continue
        response = await world.http.request(method, _fill(path, bob_ids), headers=ada.auth)
        assert response.status_code == 404, (method, path, handler)
        checked += 1
    assert checked >= 5
    # ...and a correction request naming B's record is the same 404.
    stolen = await world.http.post("/v1/me/corrections", json=ask, headers=ada.auth)
    assert stolen.status_code == 404
    # Lists never include B's items.
    listed = await world.http.get("/v1/me/interactions", headers=ada.auth)
    assert str(bob.interaction_ids[0]) not in listed.text


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


_JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _fits(schema: dict[str, Any], value: Any) -> bool:
    declared = schema.get("type")
    if declared is None or declared in ("integer", "number"):
        return declared is None or isinstance(value, int | float)
    return isinstance(value, _JSON_TYPES.get(declared, object))


def undeclared(
    document: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$"
) -> list[str]:
    """Paths of members in `value` that `schema` does not declare. Objects are closed unless
    the schema sets additionalProperties; of oneOf/anyOf variants, the best fit counts."""
    schema = _resolve(document, schema)
    variants = schema.get("oneOf") or schema.get("anyOf")
    if variants:
        fitting = [v for v in variants if _fits(_resolve(document, v), value)] or variants
        return min((undeclared(document, v, value, where) for v in fitting), key=len)
    if isinstance(value, dict):
        if schema.get("type") not in (None, "object"):
            return [f"{where} (object where {schema.get('type')} is declared)"]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", False)
        found: list[str] = []
        for key, member in value.items():
            if key in properties:
                found += undeclared(document, properties[key], member, f"{where}.{key}")
            elif isinstance(extra, dict):
                found += undeclared(document, extra, member, f"{where}.{key}")
            elif extra is not True:
                found.append(f"{where}.{key}")
        return found
    if isinstance(value, list) and "items" in schema:
        return [
            p
            for i, item in enumerate(value)
            for p in undeclared(document, schema["items"], item, f"{where}[{i}]")
        ]
    return []


def _response_schema(
    document: dict[str, Any], method: str, path: str, status: int
) -> dict[str, Any]:
    operation = document["paths"][path][method.lower()]
    response = operation["responses"][str(status)]
    content = response["content"]
    media = next(iter(content.values()))
    return media["schema"]  # type: ignore[no-any-return]


async def test_no_answer_carries_an_undocumented_member(world: World) -> None:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    ada: Person = await seed_person(world, "ada@example.org")
    ids = await resource_ids(world, ada)
    checked = 0
    for method, typed_path, _ in v1_operations(_app(world)):
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", typed_path)
        if not path.startswith("/v1/me"):
            continue
        url, kwargs = await successful_call(world, ada, method, path, ids)
        response = await world.http.request(method, url, **kwargs)
        if response.headers.get("content-type") == "application/zip":
            # A file download (the export archive), not a JSON object.
            assert response.status_code == 200, (method, path)
        else:
            body(response)
            schema = _response_schema(document, method, path, response.status_code)
            assert undeclared(document, schema, response.json()) == [], (method, path)
        # ...and the problem answers too (404 for a missing id, 403 for a missing scope).
        missing = url_for(path, dict.fromkeys(ids, "00000000-0000-0000-0000-000000000000"))
        if missing != url:
            problem = await world.http.request(method, missing, **kwargs)
            problem_schema = _response_schema(document, method, path, problem.status_code)
            assert undeclared(document, problem_schema, problem.json()) == [], (method, path)
        checked += 1
    assert checked >= 15


def test_the_checker_finds_an_undocumented_member() -> None:
    document = {
        "components": {
            "schemas": {"Item": {"type": "object", "properties": {"id": {"type": "string"}}}}
        }
    }
    page = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}},
    }
    assert undeclared(document, page, {"items": [{"id": "1"}]}) == []
    assert undeclared(document, page, {"items": [{"id": "1", "owner": "b"}]}) == [
        "$.items[0].owner"
    ]
    assert undeclared(document, {"oneOf": [{"type": "null"}, page]}, {"x": 1}) == ["$.x"]
