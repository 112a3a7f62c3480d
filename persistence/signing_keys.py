"""Signing keys on disk (`var/keys/<purpose>/`): generated in development, rotatable.

Layout: one PEM file per key and `manifest.json` listing each key's id, when it was created
and when it was retired; the files are the owner's only (0600), and so are the directories
(`keys/` and `keys/<purpose>/`, 0700) when the store creates them, like the data directory.
The newest key signs; retired keys keep verifying (and stay published in JWKS) for
`keep_retired` after retirement, so tokens signed just before a rotation remain valid until
they expire. Several processes share the directory: each looks at the manifest's
modification time on every use (one `stat`, no read) and reloads it when it changed, so a
token signed with a key that another process (or `custodian keys rotate`) just made verifies
everywhere at once, with no window in which the new `kid` is unknown.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One P-256 key pair (ES256). `retired_at` is None for the key that signs."""

    kid: str
    private_pem: bytes = field(repr=False)
    created_at: datetime
    retired_at: datetime | None = None


def _new_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class SigningKeyStore:
    """The key files of one purpose (e.g. "jwt")."""

    def __init__(
        self, root: Path, purpose: str = "jwt", keep_retired: timedelta = timedelta(hours=1)
    ) -> None:
        self.directory = root / purpose
        self.keep_retired = keep_retired
        self._lock = threading.Lock()
        self._cache: list[SigningKey] = []
        self._mtime = -1

    @property
    def _manifest(self) -> Path:
        return self.directory / "manifest.json"

    def ensure(self, now: datetime) -> None:
        """Create the directory and a first key when there is none (development start-up)."""
        with self._lock:
            if not self._read_manifest():
                self._write([self._create(now)])

    def rotate(self, now: datetime) -> SigningKey:
        """Make a new signing key; retire the current one; drop keys retired long enough."""
        with self._lock:
            entries = self._read_manifest()
            kept = [
                entry if entry.retired_at else _retire(entry, now)
                for entry in entries
                if entry.retired_at is None or now - entry.retired_at < self.keep_retired
            ]
            for gone in {e.kid for e in entries} - {e.kid for e in kept}:
                (self.directory / f"{gone}.pem").unlink(missing_ok=True)
            fresh = self._create(now)
            self._write([*kept, fresh])
            return fresh

    def available(self) -> list[SigningKey]:
        """Every usable key, the signing key last; reloaded when another process rotated."""
        try:
            mtime = self._manifest.stat().st_mtime_ns
        except FileNotFoundError:
            return self._cache
        if self._cache and mtime == self._mtime:
            return self._cache
        with self._lock:
            if mtime != self._mtime:
                # The manifest is replaced by a rename, so it is read whole or not at all.
                self._cache, self._mtime = self._read_manifest(), mtime
            return self._cache

    def _create(self, now: datetime) -> SigningKey:
        # One directory at a time: mkdir gives `mode` only to the last one of a path.
        for directory in (self.directory.parent, self.directory):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        kid = f"{now:%Y%m%d}-{secrets.token_hex(4)}"
        pem = _new_pem()
        path = self.directory / f"{kid}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        return SigningKey(kid, pem, now)

    def _read_manifest(self) -> list[SigningKey]:
        try:
            entries = json.loads(self._manifest.read_text())["keys"]
        except FileNotFoundError:
            return []
        return [
            SigningKey(
                entry["kid"],
                (self.directory / f"{entry['kid']}.pem").read_bytes(),
                datetime.fromisoformat(entry["created_at"]),
                datetime.fromisoformat(entry["retired_at"]) if entry.get("retired_at") else None,
            )
            for entry in entries
        ]

    def _write(self, keys: list[SigningKey]) -> None:
        document = {
            "keys": [
                {
                    "kid": k.kid,
                    "created_at": k.created_at.isoformat(),
                    "retired_at": k.retired_at.isoformat() if k.retired_at else None,
                }
                for k in keys
            ]
        }
        # Write then rename: readers in other processes never see half a manifest.
        temporary = self.directory / f".manifest.{secrets.token_hex(4)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(document, indent=2))
        temporary.replace(self._manifest)
        self._cache, self._mtime = keys, -1


def _retire(key: SigningKey, now: datetime) -> SigningKey:
    return SigningKey(key.kid, key.private_pem, key.created_at, now)
