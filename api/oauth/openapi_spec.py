"""What the OAuth endpoints promise in the OpenAPI document, written out by hand.

The OAuth endpoints read their form themselves (Authlib parses it) and answer as the RFCs
say, not as the rest of the API does: RFC 6749 JSON errors (`{"error", "error_description"}`,
application/json) at the token, revocation and introspection endpoints, HTML pages and
redirects at the authorization endpoint. Litestar cannot infer any of that from the handlers'
signatures, so each handler names an `Operation` subclass from here (`operation_class=`) that
replaces the generated parameters, request body and responses with these, and
`api.openapi_doc` leaves /oauth/* alone and adds `OAUTH_SCHEMAS` to the components.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from litestar.openapi.spec import Operation

FORM = "application/x-www-form-urlencoded"
_STRING: dict[str, Any] = {"type": "string"}
_ERROR_REF = {"$ref": "#/components/schemas/OAuthError"}
# RFC 6749 5.2, RFC 7009 2.2.1 (unsupported_token_type) and the busy answer (RFC 6749 4.1.2.1's
# temporarily_unavailable, which the token endpoint also sends while password hashing is full).
OAUTH_ERROR_CODES = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
    "temporarily_unavailable",
)

OAUTH_SCHEMAS: dict[str, dict[str, Any]] = {
    "OAuthError": {
        "type": "object",
        "title": "OAuthError",
        "description": "An OAuth error (RFC 6749 section 5.2, RFC 7009, RFC 7662).",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "enum": list(OAUTH_ERROR_CODES)},
            "error_description": {
                "type": "string",
                "description": "Human-readable; not meant for parsing.",
            },
            "error_uri": _STRING,
        },
    },
    "TokenResponse": {
        "type": "object",
        "title": "TokenResponse",
        "description": "RFC 6749 section 5.1. Client credentials get no refresh token.",
        "required": ["access_token", "token_type", "expires_in", "scope"],
        "properties": {
            "access_token": {"type": "string", "description": "An RFC 9068 JWT (ES256)."},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "minimum": 1},
            "scope": {"type": "string", "description": "Space-separated granted scopes."},
            "refresh_token": {
                "type": "string",
                "description": "Single use: each refresh rotates it.",
            },
        },
    },
    "IntrospectionResponse": {
        "type": "object",
        "title": "IntrospectionResponse",
        "description": "RFC 7662 section 2.2; only `active: false` for unknown, expired or "
        "revoked tokens and for tokens issued to another client.",
        "required": ["active"],
        "properties": {
            "active": {"type": "boolean"},
            "token_type": {"type": "string", "enum": ["Bearer", "refresh_token"]},
            "scope": _STRING,
            "client_id": _STRING,
            "sub": _STRING,
            "aud": _STRING,
            "iss": _STRING,
            "exp": {"type": "integer"},
            "iat": {"type": "integer"},
            "jti": _STRING,
        },
    },
}

_NO_STORE_HEADERS = {
    "Cache-Control": {
        "description": "Always `no-store` (RFC 6749 section 5.1).",
        "required": True,
        "schema": _STRING,
    },
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": _STRING,
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": '`Basic error="invalid_client", ...`: the client must authenticate.',
        "required": True,
        "schema": _STRING,
    }
}


def _json(
    schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        "headers": {**_NO_STORE_HEADERS, **(headers or {})},
    }


def _html(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"text/html": {"schema": _STRING}},
    }
    if headers:
        response["headers"] = headers
    return response


def _form(properties: dict[str, Any], required: list[str], description: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": description,
        "content": {
            FORM: {"schema": {"type": "object", "properties": properties, "required": required}}
        },
    }


_CLIENT_FIELDS = {
    "client_id": {
        "type": "string",
        "description": "With `client_secret` "
        "(client_secret_post), or alone for a public client; confidential clients "
        "may use HTTP Basic instead.",
    },
    "client_secret": _STRING,
}
_ENDPOINT_ERRORS = {
    "400": _json(
        _ERROR_REF,
        "An invalid request (`invalid_request`, "
        "`unsupported_token_type`), or an unknown client named in the form "
        "(`invalid_client`).",
    ),
    "401": _json(
        _ERROR_REF,
        "Client authentication failed (`invalid_client`); always when "
        "the client used HTTP Basic (RFC 6749 section 5.2).",
        _WWW_AUTHENTICATE,
    ),
    "503": _json(
        _ERROR_REF, "Password hashing is saturated (`temporarily_unavailable`).", _RETRY_AFTER
    ),
}
_TOKEN_FIELDS = {
    "token": {"type": "string", "description": "An access or refresh token."},
    "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
    **_CLIENT_FIELDS,
}

TOKEN: dict[str, Any] = {
    "requestBody": _form(
        {
            "grant_type": {
                "type": "string",
                "enum": ["authorization_code", "refresh_token", "client_credentials"],
            },
            "code": {"type": "string", "description": "authorization_code: the code."},
            "redirect_uri": {
                "type": "string",
                "description": "authorization_code: the redirect URI the code was issued for.",
            },
            "code_verifier": {
                "type": "string",
                "description": "authorization_code: the PKCE verifier (always required).",
            },
            "refresh_token": {"type": "string", "description": "refresh_token: the token."},
            "scope": {"type": "string", "description": "Space-separated; narrows the grant."},
            **_CLIENT_FIELDS,
        },
        ["grant_type"],
        "RFC 6749 token request; which fields apply depends on `grant_type`.",
    ),
    "responses": {
        "200": _json({"$ref": "#/components/schemas/TokenResponse"}, "Tokens issued."),
        **{
            **_ENDPOINT_ERRORS,
            "400": _json(
                _ERROR_REF,
                "An invalid request or grant "
                "(`invalid_request`, `invalid_grant`, "
                "`unsupported_grant_type`, `invalid_scope`, "
                "`unauthorized_client`), or an unknown client "
                "named in the form (`invalid_client`).",
            ),
        },
    },
}
REVOKE: dict[str, Any] = {
    "requestBody": _form(_TOKEN_FIELDS, ["token"], "RFC 7009 revocation request."),
    "responses": {
        "200": _json(
            {"type": "object", "maxProperties": 0},
            "Revoked, or the token was unknown (RFC 7009 section 2.2).",
        ),
        **_ENDPOINT_ERRORS,
    },
}
INTROSPECT: dict[str, Any] = {
    "requestBody": _form(
        _TOKEN_FIELDS,
        ["token"],
        "RFC 7662 introspection request; confidential clients only, about their own tokens.",
    ),
    "responses": {
        "200": _json({"$ref": "#/components/schemas/IntrospectionResponse"}, "The token's state."),
        **_ENDPOINT_ERRORS,
    },
}

_AUTH_PARAMS: dict[str, dict[str, Any]] = {
    "response_type": {"type": "string", "enum": ["code"]},
    "client_id": _STRING,
    "redirect_uri": {"type": "string", "description": "Must equal a registered URI exactly."},
    "scope": {
        "type": "string",
        "description": "Space-separated; the client's whole scope if absent.",
    },
    "state": _STRING,
    "code_challenge": {"type": "string", "pattern": "^[A-Za-z0-9._~-]{43,128}$"},
    "code_challenge_method": {"type": "string", "enum": ["S256"]},
    "max_age": {
        "type": "string",
        "pattern": "^[0-9]{1,9}$",
        "description": (
            "OpenID Connect: the longest acceptable time since the person signed in, in "
            "seconds. Every authorization asks for a fresh sign-in, so it always holds; the "
            "tokens' `auth_time` says when it happened."
        ),
    },
    "prompt": {
        "type": "string",
        "description": (
            "OpenID Connect: `login` (always honoured: every authorization asks for a fresh "
            "sign-in) and `consent`; `none` answers `login_required`, since there is never "
            "a sign-in to reuse."
        ),
    },
}
_AUTH_REQUIRED = [
    "response_type",
    "client_id",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
]
_PAGE_ERROR = _html(
    "An unknown client or unregistered redirect URI (never redirected, RFC "
    "6749 section 4.1.2.1), or an expired sign-in: an error page."
)
_REDIRECT = {
    "description": "Back to the client's redirect URI with `code` or `error`, "
    "`state` and `iss` (RFC 9207).",
    "headers": {"Location": {"required": True, "schema": _STRING}},
}

AUTHORIZE_PAGE: dict[str, Any] = {
    "parameters": [
        {"name": name, "in": "query", "required": name in _AUTH_REQUIRED, "schema": schema}
        for name, schema in _AUTH_PARAMS.items()
    ],
    "responses": {
        "200": _html("The sign-in page."),
        "302": _REDIRECT,
        "400": _PAGE_ERROR,
    },
}
AUTHORIZE_SUBMIT: dict[str, Any] = {
    "requestBody": _form(
        {
            **_AUTH_PARAMS,
            "csrf_token": {
                "type": "string",
                "description": "From the page; must match the CSRF cookie.",
            },
            "email": _STRING,
            "password": {"type": "string", "format": "password"},
            "consent_ticket": {"type": "string", "description": "From the consent page."},
            "decision": {"type": "string", "enum": ["allow", "deny"]},
        },
        [*_AUTH_REQUIRED, "csrf_token"],
        "The sign-in form (`email`, `password`) or the "
        "consent decision (`consent_ticket`, `decision`), "
        "with the authorization request's parameters.",
    ),
    "responses": {
        "200": _html("The consent page, after a successful sign-in."),
        "302": _REDIRECT,
        "400": _PAGE_ERROR,
        "401": _html("The sign-in page again: wrong email or password."),
        "403": _html("The CSRF field does not match the cookie: an error page."),
        "429": _html("The sign-in page again: too many failed sign-ins.", _RETRY_AFTER),
        "503": _html("The sign-in page again: password hashing is saturated.", _RETRY_AFTER),
    },
}


class _Documented(Operation):
    """An operation whose parameters, request body and responses are written out above."""

    documented: ClassVar[dict[str, Any]] = {}

    def to_schema(self) -> dict[str, Any]:
        """The generated operation with the hand-written parts in place of Litestar's."""
        schema = super().to_schema()
        schema.pop("parameters", None)
        return {**schema, **copy.deepcopy(self.documented)}


def documented(name: str, spec: dict[str, Any]) -> type[Operation]:
    """An `Operation` class (for a handler's `operation_class=`) documenting `spec`."""
    return type(name, (_Documented,), {"documented": spec})
