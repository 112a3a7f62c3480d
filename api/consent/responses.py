"""OpenAPI documentation of the problem responses a route can send."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from api.oauth.me import Problem

_DESCRIPTIONS = {
    400: "The request is not valid (a parameter, header, body or cursor)",
    401: "Missing, invalid, expired or revoked access token",
    403: "The access token lacks a required scope, or the caller may not do this",
    404: "No such resource (or it is someone else's)",
    409: "The request conflicts with the current state",
    415: "The body is not JSON (send application/json)",
    422: "The request is well formed but breaks a rule",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """application/problem+json response specs for 400/401/403 plus `statuses`."""
    wanted = sorted({400, 401, 403, *statuses})
    return {
        status: ResponseSpec(
            Problem,
            description=_DESCRIPTIONS[status],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in wanted
    }
