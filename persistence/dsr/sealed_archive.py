"""Export archives encrypted at rest, streamed in both directions in constant memory.

File layout: `CSTXA1` magic; one byte naming the customer key's retention class (contact;
financial for an erased customer's retained records); the 16-byte request id; a 12-byte
nonce and the 48-byte wrapped archive key; a 7-byte nonce prefix. Then the ZIP in 64 KiB
chunks, each AES-256-GCM sealed with the nonce prefix + a 4-byte counter + a last-chunk
flag and the header as associated data (the STREAM construction: chunks cannot be
reordered, dropped, or the file truncated unseen).

The archive key is random per archive and wrapped by the customer's `contact` data key, so
erasure (which destroys that key) makes every archive of the customer unreadable, copies
and backups included. Files are created 0600 in a 0700 directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import struct
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.dsr.requests import RequestStatus, RequestType
from domain.retention import RetentionClass
from persistence.dsr.tables import DsrRequestRow

MAGIC = b"CSTXA1"
CHUNK = 64 * 1024
COMPRESS_LEVEL = 1
"""zlib level of the ZIP entries: level 6 (the default) makes archives about 11% smaller for
about 12% more CPU time per export (bench/export.py); archives are short-lived downloads."""
_TAG = 16
_WRAPPED = 12 + 32 + _TAG
_PREFIX = 7
HEADER_SIZE = len(MAGIC) + 1 + 16 + _WRAPPED + _PREFIX
_CLASSES = {RetentionClass.CONTACT: b"c", RetentionClass.FINANCIAL: b"f"}


class ArchiveUnreadable(Exception):
    """The archive was altered, truncated, or its key no longer opens it."""


def private_directory(path: Path) -> Path:
    """`path`, created if needed, readable by the owner only (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _wrap_ad(request_id: UUID) -> bytes:
    return b"custodian/export-archive-key\x00" + request_id.bytes


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


class SealingWriter:
    """A write-only, unseekable file object that seals what zipfile writes into it, and
    knows the plaintext's size and SHA-256 (what the customer downloads)."""

    def __init__(
        self,
        path: Path,
        customer_key: bytes,
        request_id: UUID,
        key_class: RetentionClass = RetentionClass.CONTACT,
    ) -> None:
        archive_key = AESGCM.generate_key(bit_length=256)
        wrap_nonce = secrets.token_bytes(12)
        wrapped = AESGCM(customer_key).encrypt(wrap_nonce, archive_key, _wrap_ad(request_id))
        self._prefix = secrets.token_bytes(_PREFIX)
        self._header = (
            MAGIC + _CLASSES[key_class] + request_id.bytes + wrap_nonce + wrapped + self._prefix
        )
        self._aead = AESGCM(archive_key)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._file.write(self._header)
        self._buffer = bytearray()
        self._counter = 0
        self._digest = hashlib.sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        """The plaintext ZIP's SHA-256 (hex)."""
        return self._digest.hexdigest()

    def write(self, data: Any) -> int:
        """Seal full chunks as they fill up."""
        chunk = bytes(data)
        self._digest.update(chunk)
        self.size += len(chunk)
        self._buffer += chunk
        while len(self._buffer) > CHUNK:  # keep the last chunk back: it must be flagged
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(chunk)

    def tell(self) -> int:
        """How much plaintext was written (zipfile records offsets with it)."""
        return self.size

    def seek(self, *_: Any) -> int:
        """Not seekable: zipfile then writes data descriptors instead of going back."""
        raise OSError("a sealed archive is written front to back")

    def flush(self) -> None:
        """Nothing is flushed before `close`: the last chunk is sealed there."""

    def _seal(self, plain: bytes, *, last: bool) -> None:
        nonce = _nonce(self._prefix, self._counter, last)
        self._file.write(self._aead.encrypt(nonce, plain, self._header))
        self._counter += 1

    def close(self) -> None:
        """Seal the final chunk, fsync and close the file."""
        if self._file.closed:
            return
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


@contextlib.contextmanager
def sealed_zip(
    path: Path,
    customer_key: bytes,
    request_id: UUID,
    key_class: RetentionClass = RetentionClass.CONTACT,
) -> Iterator[tuple[zipfile.ZipFile, SealingWriter]]:
    """A ZIP written straight into a sealed file at `path` (0600, created exclusively)."""
    sealer = SealingWriter(path, customer_key, request_id, key_class)
    try:
        with zipfile.ZipFile(sealer, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as zf:
            yield zf, sealer
    finally:
        sealer.close()


def _open_header(header: bytes, customer_key: bytes, request_id: UUID) -> tuple[AESGCM, bytes]:
    if len(header) != HEADER_SIZE or not header.startswith(MAGIC):
        raise ArchiveUnreadable("not a sealed export archive")
    at = len(MAGIC) + 1
    if header[at : at + 16] != request_id.bytes:
        raise ArchiveUnreadable("the archive belongs to another request")
    at += 16
    wrap_nonce, wrapped = header[at : at + 12], header[at + 12 : at + _WRAPPED]
    try:
        archive_key = AESGCM(customer_key).decrypt(wrap_nonce, wrapped, _wrap_ad(request_id))
    except InvalidTag:
        raise ArchiveUnreadable("the archive key does not open") from None
    return AESGCM(archive_key), header[-_PREFIX:]


async def open_sealed(path: Path, customer_key: bytes, request_id: UUID) -> AsyncIterator[bytes]:
    """The plaintext ZIP, chunk by chunk (constant memory); ArchiveUnreadable on any
    tampering or truncation, raised before the altered chunk is yielded."""
    async with await anyio.open_file(path, "rb") as stream:
        header = await stream.read(HEADER_SIZE)
        aead, prefix = _open_header(header, customer_key, request_id)
        counter = 0
        pending = await stream.read(CHUNK + _TAG)
        while True:
            following = await stream.read(CHUNK + _TAG)
            last = not following
            try:
                plain = aead.decrypt(_nonce(prefix, counter, last), pending, header)
            except InvalidTag:
                raise ArchiveUnreadable("the archive was altered or truncated") from None
            yield plain
            if last:
                return
            pending, counter = following, counter + 1


async def delete_customer_archives(session: AsyncSession, data_dir: Path, customer_id: UUID) -> int:
    """Delete every export archive (and half-written file) of the customer and mark the
    ready ones expired; returns how many files were removed. The caller commits."""
    rows = (
        await session.scalars(
            select(DsrRequestRow).where(
                DsrRequestRow.customer_id == customer_id,
                DsrRequestRow.type == RequestType.EXPORT.value,
            )
        )
    ).all()
    directory = data_dir / "exports"
    removed = 0
    for row in rows:
        for path in [directory / f"{row.id}.zip", *directory.glob(f".{row.id}.*.part")]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        if row.status == RequestStatus.READY.value:
            row.status = RequestStatus.EXPIRED.value
    return removed
