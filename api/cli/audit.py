"""`custodian audit verify|witness|checkpoint`: check the stored audit log, keep its signed
heads, and say in a line per finding what was found.

`verify` exit status: 0 when the log is intact, 1 when it has been tampered with (the BROKEN
line names the first bad event), 2 when the log could not be read at all.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from api.cli.witness import WitnessFileError, read_witness_file, run_witness
from api.composition import engine_for, sessions_for
from api.settings import load_settings
from domain.audit.checkpoints import AuditReport, Checkpoint
from domain.audit.tree_heads import TreeHead
from persistence.audit.checkpoints import audit_report, checkpoint_now, stale_after_for
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
        "against the recorded head, every signed checkpoint and tree head, and that no event "
        "older than CUSTODIAN_TREE_HEAD_INTERVAL allows is left without a signed tree head "
        "(the check GET /v1/privacy/audit/verification makes). Exits 0 when intact, 1 when "
        "broken.",
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


def _verify_with_configured_key(database_url: str, against: Path | None = None) -> int:
    # The signing interval the server's timer uses, so this flags what the API flags.
    settings = load_settings()
    return run_audit_verify(
        database_url,
        settings.master_key,
        against=against,
        tree_head_interval=settings.tree_head_interval,
    )


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
            _verify_with_configured_key, against=Path(str(values))
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
    master_key: bytes,
    *,
    against: Path | None = None,
    tree_head_interval: float,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Verify the audit log at `database_url`, print what was found, return the exit status.

    The same check as the officer's `GET /v1/privacy/audit/verification` (`audit_report`):
    the chain, every signed checkpoint and tree head, and events older than
    `tree_head_interval` allows that no signed head covers (what deleting the heads looks
    like). With `against`, every tree head in that witness file too. A line for the chain,
    one for the checkpoints when there are any, one for the tree when it has something to
    say (always with `against`).
    """
    out, err = out or sys.stdout, err or sys.stderr
    jwk = checkpoint_signer(MasterKey(master_key)).jwk()
    witnessed: list[TreeHead] = []
    if against is not None:
        if not against.exists():
            return _unreadable(err, f"{against}: no such witness file")
        try:
            witnessed = read_witness_file(against, jwk)
        except WitnessFileError as error:
            return _unreadable(err, str(error))
    stale_after = stale_after_for(tree_head_interval)
    try:
        report = asyncio.run(_report(database_url, jwk, witnessed, stale_after))
    except (SQLAlchemyError, OSError) as error:
        # Exit 2, not 1: "could not check" must not read as "tampered with" to a monitor.
        # The kind and first line say what went wrong (no such table, refused connection)
        # without the URL, which may hold a password.
        cause = getattr(error, "orig", None) or error
        lines = str(cause).strip().splitlines()
        detail = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
        return _unreadable(err, f"audit log could not be read: {detail}")
    for line in describe_audit_report(report, witness=against is not None):
        print(line, file=out)
    return EXIT_INTACT if report.intact else EXIT_BROKEN


def _unreadable(err: TextIO, message: str) -> int:
    print(f"custodian: error: {message}", file=err)
    return EXIT_UNREADABLE


async def _report(
    database_url: str, jwk: dict[str, str], witnessed: list[TreeHead], stale_after: timedelta
) -> AuditReport:
    engine = engine_for(database_url)
    try:
        return await audit_report(engine, jwk, witnessed=witnessed, stale_after=stale_after)
    finally:
        await engine.dispose()


def describe_audit_report(report: AuditReport, *, witness: bool = False) -> list[str]:
    """The lines `audit verify` prints for `report`: the chain's, the checkpoints' when any
    were stored, and the tree's when it broke where the chain held, when signed heads held,
    or (`witness`) whenever a witness file was given."""
    lines = [describe_chain(report)]
    failure = report.checkpoint_failure
    if failure is not None:
        lines.append(f"audit checkpoint BROKEN at event {failure.seq}: {failure.reason}")
    elif report.checkpoints_checked:
        lines.append(f"audit checkpoints intact: {report.checkpoints_checked} verified")
    tree = report.tree_failure
    if tree is not None and (witness or report.chain_failure_reason is None):
        # (Without a witness file, a broken chain already names the first bad event above.)
        lines.append(f"audit tree BROKEN at event {tree.seq}: {tree.reason}")
    elif tree is None and (witness or report.tree_heads_checked):
        lines.append(
            f"audit tree intact: signed tree heads verified: {report.tree_heads_checked}, "
            f"witnessed: {report.witnessed_checked}"
        )
    return lines


def describe_chain(report: AuditReport) -> str:
    """The first line `audit verify` prints: the chain walk's finding."""
    if report.chain_failure_reason is None:
        noun = "event" if report.events_checked == 1 else "events"
        return f"audit log intact: {report.events_checked} {noun}, head {report.head_hash.hex()}"
    where = f"event {report.chain_failure_seq}"
    if report.chain_failure_event_id is not None:
        where += f" (id {report.chain_failure_event_id})"
    return f"audit log BROKEN at {where}: {report.chain_failure_reason}"
