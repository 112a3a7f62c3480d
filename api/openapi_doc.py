"""The OpenAPI document: generated from the app, normalised, committed as openapi/openapi.json.

Litestar documents error responses with its own `{status_code, detail, extra}` schema as
`application/json`; Custodian answers every error with RFC 9457 problem+json. So the
document goes through `with_problem_responses` both when served (`/schema/openapi.json`)
and when written, and every 4xx/5xx response points at the `Problem` schema, except under
/oauth/ and /.well-known/: those answer as the OAuth RFCs say (JSON `error` bodies, HTML pages)
and their handlers document it themselves (`api.oauth.openapi_spec`). Rendering is
stable (sorted keys, 2-space indent, trailing newline) so the committed file diffs cleanly.
"""

from __future__ import annotations

import copy
import json
import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.enums import MediaType
from litestar.openapi.plugins import JsonRenderPlugin

from api.oauth.openapi_spec import OAUTH_SCHEMAS
from api.openapi_polish import polish
from api.problems import PROBLEM_JSON, problem_response

DEFAULT_PATH = Path("openapi/openapi.json")
# OAuth's own protocol (RFC 6749, 7009, 7662, 8414): errors are not problem documents there.
OAUTH_PREFIXES = ("/oauth/", "/.well-known/")
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem details document.",
    "required": ["type", "title", "status", "detail", "request_id"],
    "properties": {
        "type": {"type": "string", "description": "Identifies the kind of problem."},
        "title": {"type": "string", "description": "Short summary of the kind of problem."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong with this request."},
        "instance": {"type": "string"},
        "request_id": {"type": "string", "description": "Also in the X-Request-ID header."},
        "errors": {
            "type": "array",
            "description": "One entry per invalid input, on validation problems.",
            "items": {"$ref": "#/components/schemas/FieldError"},
        },
    },
    "additionalProperties": True,
}
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "FieldError",
    "required": ["field", "message"],
    "properties": {
        "field": {"type": "string"},
        "message": {"type": "string"},
        "source": {
            "type": "string",
            "enum": ["body", "query", "header", "path", "cookie"],
            "description": "Where the invalid value was sent",
        },
    },
    "additionalProperties": False,
}
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _is_error_status(code: str) -> bool:
    return code.isdigit() and int(code) >= 400


def with_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of `document` where every error response is problem+json (`Problem` schema),
    except the OAuth protocol paths (`OAUTH_PREFIXES`), kept as their handlers document them."""
    out = copy.deepcopy(document)
    schemas = out.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    schemas["FieldError"] = copy.deepcopy(FIELD_ERROR_SCHEMA)
    schemas.update(copy.deepcopy(OAUTH_SCHEMAS))
    for path, path_item in out.get("paths", {}).items():
        if path.startswith(OAUTH_PREFIXES):
            continue
        for method in _HTTP_METHODS:
            operation = path_item.get(method)
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for code, response in list(responses.items()):
                if not _is_error_status(code) or "$ref" in response:
                    continue
                description = response.get("description") or HTTPStatus(int(code)).phrase
                fixed: dict[str, Any] = {
                    "description": description,
                    "content": copy.deepcopy(_PROBLEM_CONTENT),
                }
                if "headers" in response:
                    fixed["headers"] = response["headers"]
                responses[code] = fixed
    return out


def dump_document(document: dict[str, Any]) -> str:
    """Stable JSON text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_openapi(app: Litestar) -> str:
    """The app's OpenAPI document, problem+json errors and all, as stable JSON text."""
    return dump_document(polish(with_problem_responses(app.openapi_schema.to_schema())))


class ProblemJsonRenderPlugin(JsonRenderPlugin):
    """Serves the same normalised document as the committed file."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The normalised document as JSON bytes, with this deployment's server URL."""
        issuer = getattr(request.app.state.get("settings"), "issuer", None)
        document = polish(with_problem_responses(openapi_schema), issuer=issuer)
        return dump_document(document).encode("utf-8")


def write_openapi(path: Path = DEFAULT_PATH) -> Path:
    """Build the app with throw-away settings and write its document to `path`.

    No database is touched and no environment variable is read, so the file depends on the
    code alone. Returns the path written.
    """
    # Imported here: api.app imports this module for the render plugin.
    from api.app import create_app  # noqa: PLC0415
    from api.settings import Settings  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="custodian-openapi-") as scratch:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{scratch}/openapi.db",
            data_dir=Path(scratch),
            master_key=bytes(32),
        )
        text = render_openapi(create_app(settings))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


async def _html_404_as_problem(response: Response[Any]) -> Response[Any]:
    # Litestar answers unknown paths under /schema with an HTML page; ours are problems.
    if response.status_code == 404 and response.media_type == MediaType.HTML:
        return problem_response(None, status=404, detail="Not Found")
    return response


def openapi_router(path: str = "/schema") -> Router:
    """The router the OpenAPI document is served from (excluded from the document)."""
    return Router(
        path, route_handlers=[], include_in_schema=False, after_request=_html_404_as_problem
    )
