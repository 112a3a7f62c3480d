"""Signing key rotation: new tokens use the new key, old tokens keep verifying, and old
public keys leave JWKS once their tokens have expired."""

from __future__ import annotations

import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.oauth.access_tokens import AccessTokenCodec, TokenRejected
from domain.identity import Caller, SubjectKind
from persistence.signing_keys import SigningKeyStore

ISSUER = "http://127.0.0.1:8000"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _codec(root: Path) -> tuple[SigningKeyStore, AccessTokenCodec]:
    store = SigningKeyStore(root, "jwt", keep_retired=timedelta(seconds=660))
    store.ensure(NOW)
    return store, AccessTokenCodec(store, issuer=ISSUER, audience=f"{ISSUER}/v1", ttl=600)


def _issue(codec: AccessTokenCodec, at: datetime) -> str:
    caller = Caller(
        SubjectKind.CUSTOMER, "demo-app", frozenset({"profile:read"}), subject_id=uuid.uuid4()
    )
    return codec.issue(caller=caller, grant_id=uuid.uuid4(), now=int(at.timestamp())).token


def test_rotation_keeps_old_tokens_valid_and_publishes_both_keys(tmp_path: Path) -> None:
    store, codec = _codec(tmp_path)
    old_token = _issue(codec, NOW)
    old_kid = store.available()[-1].kid
    new_key = SigningKeyStore(tmp_path, "jwt").rotate(NOW)  # as `custodian keys rotate` does
    assert (tmp_path / "jwt" / f"{new_key.kid}.pem").stat().st_mode & 0o077 == 0
    # A fresh store sees the rotation (another process reloads on the manifest's change).
    store, codec = _codec(tmp_path)
    kids = {key["kid"] for key in codec.jwks()["keys"]}
    assert kids == {old_kid, new_key.kid}
    new_token = _issue(codec, NOW)
    now = int(NOW.timestamp()) + 5
    assert codec.verify(old_token, now=now).caller.client_id == "demo-app"
    assert codec.verify(new_token, now=now).caller.client_id == "demo-app"


def test_the_key_directories_and_files_are_the_owners_only(tmp_path: Path) -> None:
    # As `custodian serve` makes them on a fresh data directory, then after a rotation.
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o700)
    store, _ = _codec(data_dir / "keys")
    store.rotate(NOW)
    keys = data_dir / "keys"
    for directory in (keys, keys / "jwt"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    files = list((keys / "jwt").iterdir())
    assert {f.name for f in files} >= {"manifest.json"}
    assert len(files) == 3  # the manifest and two keys, no temporary left behind
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name


def test_retired_keys_are_dropped_after_their_tokens_expired(tmp_path: Path) -> None:
    store, codec = _codec(tmp_path)
    old_token = _issue(codec, NOW)
    store.rotate(NOW)
    later = NOW + timedelta(seconds=700)
    store.rotate(later)  # the first key was retired 700 s ago: beyond keep_retired
    _, fresh = _codec(tmp_path)
    assert len(fresh.jwks()["keys"]) == 2
    with pytest.raises(TokenRejected):
        fresh.verify(old_token, now=int(later.timestamp()), allow_expired=True)


def test_a_running_store_verifies_a_key_rotated_elsewhere_at_once(tmp_path: Path) -> None:
    # Two processes share the key directory: one has been verifying for a while when the
    # other rotates and signs with the new key. No pause: the first must know it immediately.
    store, codec = _codec(tmp_path)
    codec.verify(_issue(codec, NOW), now=int(NOW.timestamp()))
    elsewhere = SigningKeyStore(tmp_path, "jwt", keep_retired=timedelta(seconds=660))
    new_key = elsewhere.rotate(NOW)
    other = AccessTokenCodec(elsewhere, issuer=ISSUER, audience=f"{ISSUER}/v1", ttl=600)
    token = _issue(other, NOW)
    assert codec.verify(token, now=int(NOW.timestamp())).caller.client_id == "demo-app"
    assert store.available()[-1].kid == new_key.kid
