"""Write an export archive (docs/architecture.md, "Export archives") to a ZIP file in
constant memory.

Records arrive as async iterators (keyset batches from the database). Each category's JSON
entry is streamed straight into the ZIP while its CSV rows go to a temporary file that is
copied in afterwards (a ZIP takes one open entry at a time); SHA-256 digests are computed on
the way. The manifest lists every file with its digest and is signed (Ed25519, compact JWS
whose claims are the manifest itself).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.dsr.archive import README, SCHEMA_VERSION, csv_row
from domain.dsr.ports import WrittenArchive
from domain.retention import RetentionClass
from persistence.crypto import MasterKey
from persistence.dsr.requests import archive_file, export_dir
from persistence.dsr.sealed_archive import SealingWriter, private_directory, sealed_zip
from persistence.signatures import Ed25519Signer

EXPORT_KEY_PURPOSE = "export-manifest-signing"
WRITE_BATCH = 1000
"""Records written to the ZIP (and the CSV spool) in one go."""
WRITE_CHUNK = 1024 * 1024
"""Bytes per copy of a CSV spool into the ZIP."""

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
"""`json.dumps(record, ensure_ascii=False)`, without building an encoder per record."""


def export_signer(master_key: MasterKey) -> Ed25519Signer:
    """The key that signs export manifests (public key in JWKS)."""
    return Ed25519Signer(master_key, EXPORT_KEY_PURPOSE, typ="export-manifest+jwt")


class _HashingWriter(io.RawIOBase):
    """Counts and hashes what goes into a ZIP entry."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.digest.update(chunk)
        self.size += len(chunk)
        self._target.write(chunk)
        return len(chunk)


@dataclass
class ArchiveWriter:
    """Builds one archive into `zf`; call `category` per category, then `finish`."""

    zf: zipfile.ZipFile
    files: list[dict[str, Any]] = field(default_factory=list)
    # Where CSV rows wait before they are copied in: a private (0700) directory, never /tmp.
    spool_dir: Path | None = None

    def _add_bytes(self, name: str, data: bytes) -> None:
        self.zf.writestr(name, data)
        self.files.append(
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        )

    def add_file(self, name: str, data: bytes) -> None:
        """Add one small file, listed in the manifest with its digest."""
        self._add_bytes(name, data)

    async def category(
        self,
        name: str,
        columns: Sequence[str],
        records: AsyncIterator[dict[str, Any]],
        *,
        single: bool = False,
    ) -> int:
        """Write `name`.json and `name`.csv; returns how many records were written."""
        count = 0
        with tempfile.TemporaryFile("w+b", dir=self.spool_dir) as spool:
            text = io.TextIOWrapper(spool, encoding="utf-8", newline="", write_through=False)
            rows = csv.writer(text, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
            rows.writerow(columns)
            with self.zf.open(f"{name}.json", "w", force_zip64=True) as entry:
                out = _HashingWriter(entry)
                out.write(b"" if single else b"[")
                pending: list[dict[str, Any]] = []
                async for record in records:
                    pending.append(record)
                    if len(pending) == WRITE_BATCH:
                        self._write_batch(
                            out, rows, columns, pending, first=count == 0, single=single
                        )
                        count += len(pending)
                        pending.clear()
                if pending:
                    self._write_batch(out, rows, columns, pending, first=count == 0, single=single)
                    count += len(pending)
                if single and count == 0:
                    out.write(b"null")
                out.write(b"\n" if single else b"\n]\n")
            self.files.append(
                {
                    "name": f"{name}.json",
                    "sha256": out.digest.hexdigest(),
                    "size": out.size,
                    "records": count,
                }
            )
            text.flush()
            text.detach()
            spool.seek(0)
            with self.zf.open(f"{name}.csv", "w", force_zip64=True) as entry:
                out = _HashingWriter(entry)
                shutil.copyfileobj(spool, out, WRITE_CHUNK)
            self.files.append(
                {
                    "name": f"{name}.csv",
                    "sha256": out.digest.hexdigest(),
                    "size": out.size,
                    "records": count,
                }
            )
        return count

    @staticmethod
    def _write_batch(
        out: _HashingWriter,
        rows: Any,
        columns: Sequence[str],
        batch: Sequence[dict[str, Any]],
        *,
        first: bool,
        single: bool,
    ) -> None:
        """One write per batch into the JSON entry, one `writerows` into the CSV spool: each
        record on a line of its own, as `json.dumps` writes it."""
        separator = "\n" if single else ",\n"
        lead = "\n" if first or single else ",\n"
        out.write((lead + separator.join(map(_ENCODE, batch))).encode("utf-8"))
        rows.writerows([csv_row(record, columns) for record in batch])

    def finish(self, signer: Ed25519Signer, *, pseudonym: str, generated_at: str) -> None:
        """Add README.txt, manifest.json (every file and its digest) and signature.json."""
        self._add_bytes("README.txt", README.encode("utf-8"))
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "customer_pseudonym": pseudonym,
            "generated_at": generated_at,
            "files": self.files,
        }
        data = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
        self.zf.writestr("manifest.json", data)
        signature = {
            "alg": "EdDSA",
            "kid": signer.kid,
            "jws": signer.sign(manifest),
            "manifest_sha256": hashlib.sha256(data).hexdigest(),
            "jwks_uri": "/.well-known/jwks.json",
        }
        self.zf.writestr("signature.json", json.dumps(signature, indent=2).encode("utf-8"))


class FileArchiveStore:
    """domain.dsr.ports.ArchiveStore on the data directory's `exports/` folder (0700).

    A draft is sealed as it is written (persistence.dsr.sealed_archive) into a private
    temporary file beside the final one, and renamed over it only when complete, so a worker
    killed mid-way leaves at most a `.part` file, which the next attempt removes."""

    def __init__(self, data_dir: Path, signer: Ed25519Signer) -> None:
        self._data_dir = data_dir
        self._signer = signer

    @asynccontextmanager
    async def draft(
        self, request_id: UUID, customer_key: bytes, key_class: RetentionClass
    ) -> AsyncIterator[FileArchiveDraft]:
        """A new sealed archive for the request, removed unless finished."""
        directory = private_directory(export_dir(self._data_dir))
        for stale in directory.glob(f".{request_id}.*.part"):
            stale.unlink(missing_ok=True)  # left by a worker that died mid-way
        partial = directory / f".{request_id}.{uuid.uuid4().hex}.part"
        try:
            with sealed_zip(partial, customer_key, request_id, key_class) as (zf, sealer):
                yield FileArchiveDraft(
                    ArchiveWriter(zf, spool_dir=directory),
                    self._signer,
                    sealer,
                    partial,
                    archive_file(self._data_dir, request_id),
                )
        finally:
            partial.unlink(missing_ok=True)

    def delete(self, request_id: UUID) -> None:
        """Remove the request's archive, if there is one."""
        archive_file(self._data_dir, request_id).unlink(missing_ok=True)


class FileArchiveDraft:
    """domain.dsr.ports.ArchiveDraft: categories go into the sealed ZIP as they arrive."""

    def __init__(
        self,
        writer: ArchiveWriter,
        signer: Ed25519Signer,
        sealer: SealingWriter,
        partial: Path,
        final: Path,
    ) -> None:
        self._writer = writer
        self._signer = signer
        self._sealer = sealer
        self._partial = partial
        self._final = final

    async def category(
        self,
        name: str,
        columns: Sequence[str],
        records: AsyncIterator[dict[str, Any]],
        *,
        single: bool = False,
    ) -> int:
        """Write `name`.json and `name`.csv; returns how many records were written."""
        return await self._writer.category(name, columns, records, single=single)

    def add_file(self, name: str, data: bytes) -> None:
        """Add one small file, listed in the manifest with its digest."""
        self._writer.add_file(name, data)

    async def finish(self, *, pseudonym: str, generated_at: str) -> WrittenArchive:
        """Sign the manifest, close and seal the ZIP (fsync), and move it into place. The
        size and digest are the plaintext ZIP's: what the customer downloads."""
        self._writer.finish(self._signer, pseudonym=pseudonym, generated_at=generated_at)
        self._writer.zf.close()
        self._sealer.close()
        os.replace(self._partial, self._final)
        return WrittenArchive(size=self._sealer.size, sha256=self._sealer.sha256)
