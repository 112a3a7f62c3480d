"""`custodian audit witness --file FILE` and `custodian audit verify --against FILE`.

The witness file is JSON Lines, one signed tree head per line, oldest first. An officer
keeps it off the database host: whoever can rewrite the database (and drop its triggers and
signed heads) cannot reach it, so the log can always be proven to extend every head in it.
`witness` signs the newest head, and stores it and adds it to the file only after checking,
with a consistency proof, that it extends the last head in the file; `verify --against`
walks the log and checks every head in the file, naming the first bad event (see
`api.cli.audit`).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from api.composition import engine_for, sessions_for
from domain.audit.merkle import ProofError, verify_consistency
from domain.audit.tree_heads import NoSuchTreeHead, TreeHead
from persistence.audit.tree import consistency_proof, sign_tree_head
from persistence.audit.tree_verify import signed_head_failure
from persistence.crypto import MasterKey
from persistence.signatures import checkpoint_signer

EXIT_INTACT = 0
EXIT_BROKEN = 1
EXIT_UNREADABLE = 2


class WitnessFileError(ValueError):
    """The witness file cannot be read as signed tree heads (one-line message)."""


def head_document(head: TreeHead) -> dict[str, Any]:
    """One line of the witness file."""
    return {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash.hex(),
        "signed_at": head.signed_at.astimezone(UTC).isoformat(),
        "kid": head.kid,
        "signature": head.signature,
    }


def read_witness_file(path: Path, jwk: dict[str, str]) -> list[TreeHead]:
    """Every head in the file, each checked against its signature; WitnessFileError else."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeError) as error:
        raise WitnessFileError(f"{path}: cannot be read ({type(error).__name__})") from None
    heads = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
            head = TreeHead(
                int(document["tree_size"]),
                bytes.fromhex(document["root_hash"]),
                datetime.fromisoformat(document["signed_at"]),
                str(document["kid"]),
                str(document["signature"]),
            )
        except (ValueError, KeyError, TypeError):
            raise WitnessFileError(f"{path}:{number}: not a tree head") from None
        problem = signed_head_failure(head, jwk)
        if problem is not None:
            raise WitnessFileError(f"{path}:{number}: tree head of {head.tree_size}: {problem}")
        heads.append(head)
    return heads


def _error(err: TextIO, message: str) -> int:
    print(f"custodian: error: {message}", file=err)
    return EXIT_UNREADABLE


def run_witness(
    database_url: str,
    master_key: bytes,
    file: Path,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Append the newest signed tree head to `file` if it extends the file's last head.

    0 when appended (or already there), 1 when the database does not extend the witnessed
    head (nothing written), 2 when the file or the database cannot be read.
    """
    out, err = out or sys.stdout, err or sys.stderr
    key = MasterKey(master_key)
    try:
        witnessed = read_witness_file(file, checkpoint_signer(key).jwk())
        return asyncio.run(_witness(database_url, key, file, witnessed, out))
    except WitnessFileError as error:
        return _error(err, str(error))
    except (SQLAlchemyError, OSError) as error:
        return _error(err, f"audit log could not be read: {type(error).__name__}")


async def _witness(
    database_url: str, key: MasterKey, file: Path, witnessed: list[TreeHead], out: TextIO
) -> int:
    engine = engine_for(database_url)
    try:
        async with sessions_for(engine)() as session:
            # The new head is stored only once it is shown to extend the witnessed one:
            # leaving this block without the commit rolls it back, and a log that was
            # tampered with gets no signature of its tampered state.
            newest = await sign_tree_head(session, checkpoint_signer(key), datetime.now(UTC))
            if newest is None:
                print("audit log is empty: nothing to witness", file=out)
                return EXIT_UNREADABLE
            last = witnessed[-1] if witnessed else None
            if last is not None:
                problem = await _extends(session, last, newest)
                if problem is not None:
                    print(f"audit log BROKEN: {problem}; nothing witnessed", file=out)
                    return EXIT_BROKEN
            await session.commit()
            if last is not None and last.tree_size == newest.tree_size:
                print(f"tree head of {newest.tree_size} events already witnessed", file=out)
                return EXIT_INTACT
    finally:
        await engine.dispose()
    with file.open("a", encoding="utf-8") as witness:
        witness.write(json.dumps(head_document(newest), sort_keys=True) + "\n")
    print(
        f"witnessed tree head of {newest.tree_size} events, root {newest.root_hash.hex()}",
        file=out,
    )
    return EXIT_INTACT


async def _extends(session: AsyncSession, last: TreeHead, newest: TreeHead) -> str | None:
    """Why `newest` (from the database) does not extend `last` (from the file), or None."""
    if newest.tree_size < last.tree_size:
        return (
            f"the log has {newest.tree_size} events, the witnessed head "
            f"{last.tree_size} (events were deleted)"
        )
    if newest.tree_size == last.tree_size:
        return (
            None if newest.root_hash == last.root_hash else "the root of the witnessed size changed"
        )
    try:
        proof = await consistency_proof(session, last.tree_size, newest.tree_size)
        verify_consistency(
            last.tree_size, newest.tree_size, last.root_hash, newest.root_hash, proof.path
        )
    except NoSuchTreeHead:
        return f"the signed tree head of {last.tree_size} events is gone from the database"
    except ProofError:
        return f"the log no longer extends the witnessed head of {last.tree_size} events"
    return None
