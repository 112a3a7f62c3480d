"""Ed25519 signatures for consent receipts and audit checkpoints (compact JWS, EdDSA).

Each job has its own key, derived from the master key (HKDF, one purpose per job), so every
API process signs with the same key without sharing a file, and rotating the master key
rotates them. The public keys are published in /.well-known/jwks.json under their `kid`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from persistence.crypto import MasterKey

RECEIPT_KEY_PURPOSE = "consent-receipt-signing"
CHECKPOINT_KEY_PURPOSE = "audit-checkpoint-signing"
PRINCIPAL_PSEUDONYM_PURPOSE = "consent-principal-pseudonym"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class BadSignature(ValueError):
    """A JWS that is malformed, signed by another key, or altered."""


class Ed25519Signer:
    """Signs JSON claims as a compact JWS with a key derived from the master key."""

    def __init__(self, master_key: MasterKey, purpose: str, *, typ: str) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(master_key.derive(purpose))
        self._public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._typ = typ
        self._kid = f"{purpose}-{hashlib.sha256(self._public).hexdigest()[:16]}"

    @property
    def kid(self) -> str:
        """The key id in JWKS and in every signed header."""
        return self._kid

    def jwk(self) -> dict[str, str]:
        """The public key as an RFC 8037 OKP JWK."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64(self._public),
            "kid": self._kid,
            "alg": "EdDSA",
            "use": "sig",
        }

    def sign(self, claims: Mapping[str, Any]) -> str:
        """Compact JWS over the claims (sorted-key JSON)."""
        header = {"alg": "EdDSA", "kid": self._kid, "typ": self._typ}
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(dict(claims), sort_keys=True, separators=(",", ":")).encode())
        )
        return signing_input + "." + _b64(self._key.sign(signing_input.encode("ascii")))

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a JWS this key signed; raises BadSignature otherwise."""
        return verify_jws(token, self.jwk())


def verify_jws(token: str, jwk: Mapping[str, str]) -> dict[str, Any]:
    """Check a compact EdDSA JWS against an OKP JWK and return its claims.

    Raises BadSignature when it is malformed, names another key, or any byte changed.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise BadSignature("not a compact JWS")
    try:
        header = json.loads(_unb64(parts[0]))
        if header.get("alg") != "EdDSA" or header.get("kid") != jwk["kid"]:
            raise BadSignature("signed by another key or algorithm")
        public = Ed25519PublicKey.from_public_bytes(_unb64(jwk["x"]))
        public.verify(_unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode("ascii"))
        claims = json.loads(_unb64(parts[1]))
    except (InvalidSignature, ValueError, UnicodeError, KeyError, AttributeError) as error:
        raise BadSignature("signature does not verify") from error
    if not isinstance(claims, dict):
        raise BadSignature("claims are not an object")
    return claims


class ReceiptKeys(Ed25519Signer):
    """`domain.consent.ledger.ReceiptSigner`: the consent-receipt key and principal pseudonyms."""

    def __init__(self, master_key: MasterKey) -> None:
        super().__init__(master_key, RECEIPT_KEY_PURPOSE, typ="consent-receipt+jwt")
        self._pseudonym_key = master_key.derive(PRINCIPAL_PSEUDONYM_PURPOSE)

    def pseudonym(self, customer_id: UUID) -> str:
        """HMAC-SHA256 of the customer id: stable, and meaningless without the master key."""
        return hmac.new(self._pseudonym_key, customer_id.bytes, hashlib.sha256).hexdigest()


def checkpoint_signer(master_key: MasterKey) -> Ed25519Signer:
    """The key that signs audit checkpoints."""
    return Ed25519Signer(master_key, CHECKPOINT_KEY_PURPOSE, typ="audit-checkpoint+jwt")
