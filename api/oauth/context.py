"""What one OAuth request loaded before Authlib ran, and what Authlib decided.

Authlib calls back synchronously (query_client, query_authorization_code, save_token...).
Those callbacks read from `Prefetched` and append `Effect`s; `api.oauth.effects` applies the
effects in one transaction after Authlib returns, before the response is sent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from authlib.oauth2.rfc6749 import OAuth2Request

from api.oauth.models import AccessModel, ClientModel, CodeModel, RefreshModel
from domain.audit.events import AuditRecord
from domain.oauth.tokens import AuthorizationCode, Grant, RefreshToken


@dataclass(frozen=True, slots=True)
class NewGrant:
    grant: Grant


@dataclass(frozen=True, slots=True)
class NewCode:
    code: AuthorizationCode


@dataclass(frozen=True, slots=True)
class ConsumeCode:
    """Must win the conditional update, or the whole response becomes invalid_grant."""

    code_hash: str
    grant_id: UUID


@dataclass(frozen=True, slots=True)
class NewRefreshToken:
    token: RefreshToken


@dataclass(frozen=True, slots=True)
class RotateRefreshToken:
    """Must win the conditional update, or the whole response becomes invalid_grant."""

    token_hash: str
    grant_id: UUID


@dataclass(frozen=True, slots=True)
class RevokeGrant:
    grant_id: UUID


@dataclass(frozen=True, slots=True)
class RevokeAccessToken:
    jti: str
    grant_id: UUID
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Audit:
    record: AuditRecord


Effect = (
    NewGrant
    | NewCode
    | ConsumeCode
    | NewRefreshToken
    | RotateRefreshToken
    | RevokeGrant
    | RevokeAccessToken
    | Audit
)


@dataclass(slots=True)
class Prefetched:
    """Records loaded for one request, plus the effects decided while handling it."""

    now: datetime
    request_id: str | None = None
    clients: dict[str, ClientModel] = field(default_factory=dict)
    code: CodeModel | None = None
    code_grant: Grant | None = None
    refresh: RefreshModel | None = None
    # Whether the person behind the presented refresh token may still hold it.
    refresh_holder_ok: bool = True
    # When the person answering the consent screen signed in (becomes the grant's auth_time).
    auth_time: datetime | None = None
    token: RefreshModel | AccessModel | None = None
    effects: list[Effect] = field(default_factory=list)

    def record(self, effect: Effect) -> None:
        """Remember something to apply once Authlib has decided."""
        self.effects.append(effect)


class Payload:
    """Form or query parameters with every value kept, as Authlib's payload protocol wants."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        """The first value of each parameter."""
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        """Every value of each parameter (duplicates are an error for some)."""
        return self._datalist

    client_id = property(lambda self: self._data.get("client_id"))
    response_type = property(lambda self: self._data.get("response_type"))
    grant_type = property(lambda self: self._data.get("grant_type"))
    redirect_uri = property(lambda self: self._data.get("redirect_uri"))
    scope = property(lambda self: self._data.get("scope"))
    state = property(lambda self: self._data.get("state"))


def _checked_form(uri: str) -> str:
    return "https://" + uri.removeprefix("http://") if uri.startswith("http://") else uri


class HttpRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth2Request built from an already-read Litestar request."""

    def __init__(
        self, method: str, uri: str, pairs: list[tuple[str, str]], headers: dict[str, str]
    ) -> None:
        # `uri` is under our issuer, whose transport the settings already ruled on (https in
        # production; plain http allowed in development, on any host). Authlib's own check
        # admits plain http on loopback only and would fail a development issuer on a LAN
        # name with an unhandled error, so it is given the https form to check.
        super().__init__(method, _checked_form(uri), headers=headers)
        self.uri = uri
        self.payload = Payload(pairs)

    @property
    def args(self) -> dict[str, Any]:
        """Parameters (query for GET, form for POST): Authlib reads either through these."""
        return self.payload.data

    @property
    def form(self) -> dict[str, Any]:
        """Parameters (query for GET, form for POST)."""
        return self.payload.data


@dataclass(slots=True)
class AuthlibResponse:
    """What Authlib answered; `location` is how its RFC 9207 hook adds `iss`."""

    status: int
    body: Any
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        """The Location header, if any."""
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"]
        self.headers.append(("Location", value))
