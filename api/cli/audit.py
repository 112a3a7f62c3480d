"""`custodian audit verify`: check the stored audit chain and say in one line what was found.

Exit status: 0 when the log is intact, 1 when it has been tampered with (the line names the
first broken event), 2 when the log could not be read at all.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from api.cli.witness import describe_tree_report, run_witness, verify_against
from api.composition import engine_for, sessions_for
from api.settings import load_settings
from domain.audit.checkpoints import Checkpoint
from persistence.audit.checkpoints import checkpoint_now, verify_checkpoints
from persistence.audit.sink import VerificationReport, verify_log
from persistence.audit.tree_verify import verify_tree
from persistence.crypto import MasterKey
from persistence.signatures import checkpoint_signer

EXIT_INTACT = 0
EXIT_BROKEN = 1
EXIT_UNREADABLE = 2


def add_audit_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `audit verify` and `audit checkpoint [--export FILE]`.

    The parsed namespace carries `audit_handler`: a callable taking the database URL and
    returning the process exit status (see `run_audit_verify`).
    """
    audit = subparsers.add_parser("audit", help="inspect the tamper-evident audit log")
    commands = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    verify = commands.add_parser(
        "verify",
        help="check that no audit event was altered, deleted, inserted or reordered",
        description="Walk the whole audit log in order and check every event's hash chain "
        "against the recorded head. Exits 0 when intact, 1 when broken.",
    )
    verify.add_argument(
        "--against",
        metavar="FILE",
        action=_AgainstAction,
        help="also prove that the log extends every tree head in this witness file "
        "(see `audit witness`) and name the first bad event",
    )
    verify.set_defaults(audit_handler=_verify_with_configured_key)
    witness = commands.add_parser(
        "witness",
        help="append the newest signed tree head to a witness file kept off the box",
        description="Sign the audit log's current Merkle tree head if needed, check with a "
        "consistency proof that it extends the last head in FILE, and append it. Exits 1, "
        "writing nothing, when the log does not extend the witnessed head.",
    )
    witness.add_argument(
        "--file", metavar="FILE", required=True, action=_WitnessFileAction, help="witness file"
    )
    checkpoint = commands.add_parser(
        "checkpoint",
        help="sign the audit log's current head (a checkpoint) and optionally export it",
        description="Sign the current head hash and event count with the checkpoint key "
        "(Ed25519, published in JWKS) and store it. With --export FILE, also "
        "write the latest checkpoint as JSON for an officer to keep outside "
        "the database.",
    )
    checkpoint.add_argument(
        "--export",
        metavar="FILE",
        action=_ExportAction,
        help="write the latest checkpoint to FILE (JSON)",
    )
    checkpoint.set_defaults(audit_handler=_checkpoint_with_configured_key)


def _configured_master_key() -> bytes:
    # The dispatcher has already loaded (and in development created) the settings.
    return load_settings().master_key


def _verify_with_configured_key(database_url: str) -> int:
    return run_audit_verify(database_url, master_key=_configured_master_key())


def _checkpoint_with_configured_key(database_url: str, export: Path | None = None) -> int:
    return run_audit_checkpoint(database_url, _configured_master_key(), export=export)


class _ExportAction(argparse.Action):
    """`--export FILE`: bind the file to the checkpoint handler (handlers take the URL only)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        namespace.audit_handler = functools.partial(
            _checkpoint_with_configured_key, export=Path(str(values))
        )


def _against_with_configured_key(database_url: str, file: Path) -> int:
    return verify_against(database_url, _configured_master_key(), file, describe_report)


def _witness_with_configured_key(database_url: str, file: Path) -> int:
    return run_witness(database_url, _configured_master_key(), file)


class _AgainstAction(argparse.Action):
    """`verify --against FILE`: bind the witness file to the verify handler."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        namespace.audit_handler = functools.partial(
            _against_with_configured_key, file=Path(str(values))
        )


class _WitnessFileAction(argparse.Action):
    """`witness --file FILE`: bind the witness file to the witness handler."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        namespace.audit_handler = functools.partial(
            _witness_with_configured_key, file=Path(str(values))
        )


def run_audit_checkpoint(
    database_url: str, master_key: bytes, *, export: Path | None = None, out: TextIO | None = None
) -> int:
    """Sign the current head (unless already signed), optionally export the latest
    checkpoint as JSON to `export`, print one line; 0 on success, 2 for an empty log."""
    out = out or sys.stdout
    made = asyncio.run(_checkpoint(database_url, MasterKey(master_key)))
    if made is None:
        print("audit log is empty: nothing to checkpoint", file=out)
        return EXIT_UNREADABLE
    document = {
        "seq": made.seq,
        "event_count": made.seq,
        "head_hash": made.head_hash.hex(),
        "kid": made.kid,
        "signature": made.signature,
        "created_at": made.created_at.isoformat(),
    }
    if export is not None:
        export.write_text(json.dumps(document, indent=2) + "\n")
    print(
        f"checkpoint at event {made.seq}, head {made.head_hash.hex()}"
        + (f", exported to {export}" if export is not None else ""),
        file=out,
    )
    return EXIT_INTACT


async def _checkpoint(database_url: str, master_key: MasterKey) -> Checkpoint | None:
    engine = engine_for(database_url)
    try:
        async with sessions_for(engine)() as session:
            made = await checkpoint_now(session, checkpoint_signer(master_key), datetime.now(UTC))
            await session.commit()
            return made
    finally:
        await engine.dispose()


def run_audit_verify(
    database_url: str,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    master_key: bytes | None = None,
) -> int:
    """Verify the audit log at `database_url`, print one line, return the exit status.

    With the master key, every signed checkpoint is checked too (a second line), so a
    consistent rewrite of the chain up to a checkpoint is reported as broken.
    """
    return asyncio.run(
        _verify(
            database_url,
            out or sys.stdout,
            err or sys.stderr,
            None if master_key is None else MasterKey(master_key),
        )
    )


def describe_report(report: VerificationReport) -> str:
    """The one line `audit verify` prints for `report`."""
    failure = report.failure
    if failure is None:
        noun = "event" if report.events_checked == 1 else "events"
        return f"audit log intact: {report.events_checked} {noun}, head {report.head_hash_hex}"
    where = f"event {failure.seq}"
    if failure.event_id is not None:
        where += f" (id {failure.event_id})"
    return f"audit log BROKEN at {where}: {failure.reason}"


async def _verify(
    database_url: str, out: TextIO, err: TextIO, master_key: MasterKey | None = None
) -> int:
    engine = engine_for(database_url)
    checkpoint_failure = None
    tree = None
    try:
        if master_key is None:
            report = await verify_log(engine)
        else:
            # One walk checks the chain, the leaves recorded at append time and every
            # signed tree head.
            tree = await verify_tree(engine, checkpoint_signer(master_key).jwk())
            report = tree.chain
            checked, checkpoint_failure, _ = await verify_checkpoints(
                engine, checkpoint_signer(master_key).jwk()
            )
    except (SQLAlchemyError, OSError) as error:
        # Exit 2, not 1: "could not check" must not read as "tampered with" to a monitor.
        # The kind and first line say what went wrong (no such table, refused connection)
        # without the URL, which may hold a password.
        cause = getattr(error, "orig", None) or error
        lines = str(cause).strip().splitlines()
        detail = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
        print(f"custodian: error: audit log could not be read: {detail}", file=err)
        return EXIT_UNREADABLE
    finally:
        await engine.dispose()
    print(describe_report(report), file=out)
    broken = not report.intact
    if checkpoint_failure is not None:
        print(
            f"audit checkpoint BROKEN at event {checkpoint_failure.seq}: "
            f"{checkpoint_failure.reason}",
            file=out,
        )
        broken = True
    elif master_key is not None and checked:
        print(f"audit checkpoints intact: {checked} verified", file=out)
    if tree is not None and (
        (tree.tree_failure is not None and report.intact)
        or (tree.tree_failure is None and tree.tree_heads_checked)
    ):
        # (A broken chain already names the first bad event on the line above.)
        print(describe_tree_report(tree), file=out)
    if tree is not None and tree.tree_failure is not None:
        broken = True
    return EXIT_BROKEN if broken else EXIT_INTACT
