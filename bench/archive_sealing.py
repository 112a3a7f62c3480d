"""Export archive sealing benchmark: prints figures, asserts nothing.

Writes the same ZIP (deflated, half compressible text and half random bytes) once as a plain
file and once sealed (AES-256-GCM STREAM, per-archive key), then reads the sealed one back
through the decrypting stream; prints MB/s of each and the ratios, from one run.

Run: .venv/bin/python bench/archive_sealing.py [--megabytes 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

from persistence.dsr.sealed_archive import open_sealed, sealed_zip

PIECE = 1024 * 1024


def _pieces(megabytes: int) -> list[bytes]:
    text = (b"2025-06-01,Purchase,12.50,EUR,groceries\n" * (PIECE // 40 + 1))[:PIECE]
    return [text if n % 2 else os.urandom(PIECE) for n in range(megabytes)]


def _write(zf: zipfile.ZipFile, pieces: list[bytes]) -> None:
    with zf.open("data.bin", "w", force_zip64=True) as entry:
        for piece in pieces:
            entry.write(piece)


async def main(megabytes: int) -> None:
    pieces = _pieces(megabytes)
    key, request_id = os.urandom(32), uuid.uuid4()
    with tempfile.TemporaryDirectory() as tmp:
        plain_path, sealed_path = Path(tmp) / "plain.zip", Path(tmp) / "sealed.bin"
        started = time.perf_counter()
        with zipfile.ZipFile(plain_path, "w", zipfile.ZIP_DEFLATED) as zf:
            _write(zf, pieces)
        plain = time.perf_counter() - started
        started = time.perf_counter()
        with sealed_zip(sealed_path, key, request_id) as (zf, _):
            _write(zf, pieces)
        sealed = time.perf_counter() - started
        started = time.perf_counter()
        size = 0
        async for chunk in open_sealed(sealed_path, key, request_id):
            size += len(chunk)
        reading = time.perf_counter() - started
        overhead = sealed_path.stat().st_size / plain_path.stat().st_size
    print(f"input {megabytes} MB; ZIP {size / PIECE:.1f} MB")
    print(f"plain ZIP write     {megabytes / plain:8.1f} MB/s")
    print(f"sealed ZIP write    {megabytes / sealed:8.1f} MB/s  (x{sealed / plain:.2f} time)")
    print(f"sealed stream read  {size / PIECE / reading:8.1f} MB/s of ZIP")
    print(f"size on disk        x{overhead:.4f} of the plain ZIP")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=64)
    asyncio.run(main(parser.parse_args().megabytes))
