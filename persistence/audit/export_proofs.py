"""The export archive's offline proof of the customer's access log.

Adds to the archive: `tree_head.json` (the newest signed tree head and its public key),
`access_log_proofs.jsonl` (one line per access-log entry the head covers: the entry's
canonical bytes and its inclusion proof), `verify_access_log.py` (a stand-alone verifier,
standard library plus `cryptography`) and `VERIFY.txt` (how to run it). A customer can so
check their copy without trusting Custodian's server. Entries newer than the head are left
out (they are in the next head). Entries are read in batches; the proof lines (about 1.5 KB
each) are held until written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from domain.audit.access_log import AuditQuery, AuditReader
from domain.audit.events import canonical_bytes
from persistence.audit.tree import inclusion_proof, latest_tree_head
from persistence.signatures import Ed25519Signer

BATCH = 500
PROOFS = "access_log_proofs.jsonl"
VERIFY_TEXT = """Checking your access log offline
================================

access_log_proofs.jsonl holds every entry of your access log that the audit log's newest
signed tree head (tree_head.json) covers, with the proof that it is in that log: the same
log the privacy officer audits, which can never be changed or shortened unnoticed.

Run, in the unzipped folder (Python 3.9+, `pip install cryptography`):

    python3 verify_access_log.py .

It checks the tree head's Ed25519 signature and every proof (RFC 9162). Compare the key in
tree_head.json ("kid", "x") with the organisation's published keys at
/.well-known/jwks.json on its API, fetched yourself.
"""


def _verifier_source() -> bytes:
    return (
        resources.files("persistence.audit.offline").joinpath("verify_access_log.py").read_bytes()
    )


async def add_access_log_proofs(
    add_file: Callable[[str, bytes], None],
    session: AsyncSession,
    reader: AuditReader,
    customer_id: UUID,
    signer: Ed25519Signer,
) -> int:
    """Write the proof files through `add_file(name, data)`; returns how many entries were
    proven (0, with only the instructions, while no signed tree head exists)."""
    add_file("verify_access_log.py", _verifier_source())
    add_file("VERIFY.txt", VERIFY_TEXT.encode("utf-8"))
    head = await latest_tree_head(session)
    if head is None:
        return 0
    document = {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash.hex(),
        "signed_at": head.signed_at.isoformat(),
        "signature": head.signature,
        "public_key": signer.jwk(),
    }
    add_file("tree_head.json", json.dumps(document, indent=2).encode("utf-8"))
    lines: list[bytes] = []
    before = head.tree_size + 1
    while True:
        query = AuditQuery(subject_id=customer_id, before_seq=before)
        events = await reader.newest_first(query, BATCH)
        for event in events:
            proof = await inclusion_proof(session, event.seq, head)
            data = canonical_bytes(event.seq, event.id, event.at, event.record, event.prev_hash)
            entry = {
                "event_id": str(event.id),
                "leaf_index": event.seq - 1,
                "leaf_data": data.decode("ascii"),
                "audit_path": [item.hex() for item in proof.path],
            }
            lines.append(json.dumps(entry, sort_keys=True).encode("ascii"))
        if len(events) < BATCH:
            break
        before = events[-1].seq
    add_file(PROOFS, b"".join(line + b"\n" for line in lines))
    return len(lines)


class SqlAccessLogProofs:
    """domain.dsr.ports.AccessLogProofs in the caller's transaction."""

    def __init__(self, session: AsyncSession, reader: AuditReader, signer: Ed25519Signer) -> None:
        self._session = session
        self._reader = reader
        self._signer = signer

    async def add_to(self, add_file: Callable[[str, bytes], None], customer_id: UUID) -> int:
        """Write the proof files through `add_file(name, data)`; returns how many entries
        were proven."""
        return await add_access_log_proofs(
            add_file, self._session, self._reader, customer_id, self._signer
        )
