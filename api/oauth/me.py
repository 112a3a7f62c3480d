"""GET /v1/me: who the token says the caller is. The smallest protected route."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.di import NamedDependency

from api.routes import problems
from domain.identity import Caller


class Identity(msgspec.Struct):
    """The caller as the access token identifies them."""

    kind: str
    client_id: str
    scopes: list[str]
    subject_id: str | None = None
    role: str | None = None


@get(
    "/v1/me",
    operation_id="getMe",
    tags=["identity"],
    opt={"scopes": ("profile:read",)},
    security=[{"oauth2": ["profile:read"]}],
    responses=problems(),
    summary="Who am I: the caller's identity and scopes",
)
async def get_me(caller: NamedDependency[Caller]) -> Identity:
    """The caller resolved from the access token: kind, subject id, role, client, scopes."""
    return Identity(
        kind=caller.kind.value,
        client_id=caller.client_id,
        scopes=sorted(caller.scopes),
        subject_id=str(caller.subject_id) if caller.subject_id else None,
        role=caller.role.value if caller.role else None,
    )
