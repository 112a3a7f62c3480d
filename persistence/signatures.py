"""Ed25519 signatures (compact JWS, EdDSA, made and checked with joserfc) for consent
receipts, audit checkpoints and tree heads, and export manifests.

Each job has its own key, derived from the master key (HKDF, one purpose per job), so every
API process signs with the same key without sharing a file, and rotating the master key
rotates them. The public keys are published in /.well-known/jwks.json under their `kid`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from persistence.crypto import MasterKey

RECEIPT_KEY_PURPOSE = "consent-receipt-signing"
CHECKPOINT_KEY_PURPOSE = "audit-checkpoint-signing"
PRINCIPAL_PSEUDONYM_PURPOSE = "consent-principal-pseudonym"
ALGORITHM = "EdDSA"


class _Registry(JWSRegistry):
    """Only Ed25519 under the name EdDSA: a token naming any other algorithm is refused."""

    def get_alg(self, name: str) -> Any:  # joserfc does not export its algorithm model type
        # RFC 9864 prefers the name "Ed25519" for the same signature; the documents
        # Custodian has already issued (receipts customers keep, JWKS entries clients cache)
        # name "EdDSA", so that name stays, without joserfc's deprecation warning.
        if name != ALGORITHM:
            raise UnsupportedAlgorithmError(f"algorithm {name!r} is not accepted")
        return self.algorithms[name]


_REGISTRY = _Registry(algorithms=[ALGORITHM])


class BadSignature(ValueError):
    """A JWS that is malformed, signed by another key, or altered."""


class Ed25519Signer:
    """Signs JSON claims as a compact JWS (joserfc) with a key derived from the master key."""

    def __init__(self, master_key: MasterKey, purpose: str, *, typ: str) -> None:
        private = Ed25519PrivateKey.from_private_bytes(master_key.derive(purpose))
        self._key = OKPKey.import_key(private)
        public = self._key.as_dict(private=False)
        self._typ = typ
        fingerprint = hashlib.sha256(private.public_key().public_bytes_raw()).hexdigest()[:16]
        self._kid = f"{purpose}-{fingerprint}"
        self._jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": str(public["x"]),
            "kid": self._kid,
            "alg": ALGORITHM,
            "use": "sig",
        }

    @property
    def kid(self) -> str:
        """The key id in JWKS and in every signed header."""
        return self._kid

    def jwk(self) -> dict[str, str]:
        """The public key as an RFC 8037 OKP JWK."""
        return dict(self._jwk)

    def sign(self, claims: Mapping[str, Any], *, typ: str | None = None) -> str:
        """Compact JWS over the claims (sorted-key JSON); `typ` overrides the signer's own
        for a second kind of document signed with the same key."""
        header = {"alg": ALGORITHM, "kid": self._kid, "typ": typ or self._typ}
        payload = json.dumps(dict(claims), sort_keys=True, separators=(",", ":")).encode()
        return jws.serialize_compact(header, payload, self._key, registry=_REGISTRY)

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a JWS this key signed; raises BadSignature otherwise."""
        return verify_jws(token, self.jwk())


def verify_jws(token: str, jwk: Mapping[str, str]) -> dict[str, Any]:
    """Check a compact EdDSA JWS against an OKP JWK and return its claims.

    Raises BadSignature when it is malformed, names another key, or any byte changed.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise BadSignature("not a compact JWS")
    try:
        key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]})
        verified = jws.deserialize_compact(token, key, registry=_REGISTRY)
        if verified.headers().get("kid") != jwk["kid"]:
            raise BadSignature("signed by another key")
        claims = json.loads(verified.payload)
    except (JoseError, ValueError, UnicodeError, KeyError, TypeError) as error:
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
