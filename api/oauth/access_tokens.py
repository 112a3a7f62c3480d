"""Access tokens as signed JWTs (RFC 9068, ES256) and their verification.

Verification is strict and explicit: only ES256, `typ` must be `at+jwt`, the `kid` must be
one of ours, and iss, aud, exp, nbf, iat, sub, client_id, scope and jti must be present and
right. A small leeway absorbs clock skew between processes.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from joserfc import jwk, jwt
from joserfc.errors import JoseError

from domain.identity import Caller, StaffRole, SubjectKind, format_scopes, parse_scopes

ALGORITHM = "ES256"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - the RFC 9068 media type, not a secret


class KeyMaterial(Protocol):
    """A signing key as the key store hands it over."""

    @property
    def kid(self) -> str: ...

    @property
    def private_pem(self) -> bytes: ...

    @property
    def retired_at(self) -> datetime | None: ...


class KeySource(Protocol):
    def available(self) -> Sequence[KeyMaterial]:
        """Every usable key; the one whose `retired_at` is None signs."""
        ...


class TokenRejected(Exception):
    """The token is not one of ours, or no longer valid. `reason` is for logs, not clients."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    """A freshly signed token and the facts the caller needs to record about it."""

    token: str
    jti: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified content of an access token."""

    caller: Caller
    grant_id: UUID
    jti: str
    issued_at: int
    expires_at: int
    raw: dict[str, Any]


class AccessTokenCodec:
    """Signs and verifies access tokens with the keys of a KeySource."""

    def __init__(
        self, keys: KeySource, *, issuer: str, audience: str, ttl: int, leeway: int = 30
    ) -> None:
        self._keys = keys
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self.leeway = leeway
        self._imported: dict[str, jwk.ECKey] = {}

    def _key(self, material: KeyMaterial) -> jwk.ECKey:
        key = self._imported.get(material.kid)
        if key is None:
            key = jwk.ECKey.import_key(
                material.private_pem, {"kid": material.kid, "use": "sig", "alg": ALGORITHM}
            )
            self._imported[material.kid] = key
        return key

    def issue(self, *, caller: Caller, grant_id: UUID, now: int) -> IssuedAccessToken:
        """Sign a token for `caller` in family `grant_id`, valid from `now` for `ttl` s."""
        signing = [k for k in self._keys.available() if k.retired_at is None]
        if not signing:
            raise RuntimeError("no signing key: run `custodian keys rotate`")
        material = signing[-1]
        jti = secrets.token_urlsafe(24)
        subject = str(caller.subject_id) if caller.subject_id else caller.client_id
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "client_id": caller.client_id,
            "scope": format_scopes(caller.scopes),
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl,
            "jti": jti,
            "actor": caller.kind.value,
            "gid": str(grant_id),
        }
        if caller.role is not None:
            claims["role"] = caller.role.value
        if caller.auth_time is not None:
            claims["auth_time"] = int(caller.auth_time.timestamp())
        header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": material.kid}
        token = jwt.encode(header, claims, self._key(material), algorithms=[ALGORITHM])
        return IssuedAccessToken(token, jti, now + self.ttl)

    def verify(self, token: str, *, now: int, allow_expired: bool = False) -> AccessClaims:
        """The claims of a valid token of ours; raises TokenRejected otherwise.

        `allow_expired` serves revocation and introspection, which must recognise our own
        expired tokens; everything but the time checks still applies.
        """
        header = _header(token)
        if header.get("alg") != ALGORITHM:
            raise TokenRejected("algorithm not allowed")
        if header.get("typ") != TOKEN_TYPE:
            raise TokenRejected("not an access token (typ)")
        material = {k.kid: k for k in self._keys.available()}.get(str(header.get("kid")))
        if material is None:
            raise TokenRejected("unknown key")
        try:
            claims = jwt.decode(token, self._key(material), algorithms=[ALGORITHM]).claims
        except (JoseError, ValueError):
            raise TokenRejected("bad signature") from None
        return self._check(claims, now=now, allow_expired=allow_expired)

    def _check(self, claims: dict[str, Any], *, now: int, allow_expired: bool) -> AccessClaims:
        required = ("iss", "sub", "aud", "client_id", "scope", "iat", "exp", "jti", "gid", "actor")
        if any(name not in claims for name in required):
            raise TokenRejected("missing claim")
        if claims["iss"] != self.issuer:
            raise TokenRejected("wrong issuer")
        audience = claims["aud"]
        audiences = audience if isinstance(audience, list) else [audience]
        if self.audience not in audiences:
            raise TokenRejected("wrong audience")
        numbers = [claims["exp"], claims["iat"], claims.get("nbf", claims["iat"])]
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            raise TokenRejected("malformed time claim")
        exp, _iat, nbf = numbers
        if not allow_expired:
            if now >= exp + self.leeway:
                raise TokenRejected("expired")
            if now + self.leeway < nbf:
                raise TokenRejected("not yet valid")
        try:
            caller = _caller(claims)
            grant_id = UUID(str(claims["gid"]))
        except (ValueError, KeyError):
            raise TokenRejected("malformed claims") from None
        return AccessClaims(caller, grant_id, str(claims["jti"]), claims["iat"], exp, claims)

    def signing_key(self) -> tuple[str, jwk.ECKey]:
        """The key that signs now (its kid and private JWK), for the issuer's other JWTs
        (OpenID Connect ID tokens), so one JWKS verifies them all."""
        signing = [k for k in self._keys.available() if k.retired_at is None]
        if not signing:
            raise RuntimeError("no signing key: run `custodian keys rotate`")
        return signing[-1].kid, self._key(signing[-1])

    def jwks(self) -> dict[str, Any]:
        """The public keys, for /.well-known/jwks.json (retired keys included)."""
        keys = [self._key(m).as_dict(private=False) for m in self._keys.available()]
        return {"keys": keys}


def _header(token: str) -> dict[str, Any]:
    # Read the protected header ourselves before any key is chosen: alg, typ and kid decide
    # whether the token is even worth a signature check.
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise TokenRejected("malformed")
    try:
        padded = parts[0] + "=" * (-len(parts[0]) % 4)
        header = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError):
        raise TokenRejected("malformed") from None
    if not isinstance(header, dict):
        raise TokenRejected("malformed")
    return header


def _caller(claims: dict[str, Any]) -> Caller:
    kind = SubjectKind(claims["actor"])
    role = StaffRole(claims["role"]) if kind is SubjectKind.STAFF else None
    subject = None if kind is SubjectKind.SERVICE else UUID(str(claims["sub"]))
    return Caller(
        kind=kind,
        client_id=str(claims["client_id"]),
        scopes=parse_scopes(str(claims["scope"])),
        subject_id=subject,
        role=role,
        grant_id=UUID(str(claims["gid"])),
        auth_time=_auth_time(claims.get("auth_time")),
    )


def _auth_time(value: Any) -> datetime | None:
    # Signed by us, so a wrong type is a token from an older version: treat it as unknown.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return datetime.fromtimestamp(value, UTC)
    return None
