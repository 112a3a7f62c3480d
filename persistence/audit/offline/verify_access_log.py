#!/usr/bin/env python3
"""Check, offline, that the access-log entries in this export are in Custodian's audit log.

Usage:  python3 verify_access_log.py [FOLDER]     (FOLDER: the unzipped export, default .)
Needs:  Python 3.9+ and the `cryptography` package (pip install cryptography).

1. tree_head.json is checked against its Ed25519 signature, with the public key it names.
   Compare that key ("kid" and "x") with the organisation's published keys
   (/.well-known/jwks.json on its API), fetched yourself, so you need not trust this file.
2. For every line of access_log_proofs.jsonl, the entry's bytes are hashed as an RFC 9162
   leaf and its audit path must lead to the signed root: the entry is then provably in the
   same log the privacy officer audits, and can never be removed or changed unnoticed.
Exit status 0 when everything holds, 1 otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2: the root an inclusion proof leads to (None if malformed)."""
    if index >= size:
        return None
    fn, sn, hashed = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            hashed = node(sibling, hashed)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            hashed = node(hashed, sibling)
        fn >>= 1
        sn >>= 1
    return hashed if sn == 0 else None


def signed_root(head: dict[str, Any]) -> tuple[int, bytes]:
    """The root hash the tree head's signature covers; raises when it does not verify."""
    header, claims, signature = head["signature"].split(".")
    key = Ed25519PublicKey.from_public_bytes(unb64(head["public_key"]["x"]))
    key.verify(unb64(signature), (header + "." + claims).encode("ascii"))
    signed = json.loads(unb64(claims))
    if signed["tree_size"] != head["tree_size"] or signed["root_hash"] != head["root_hash"]:
        raise ValueError("tree_head.json differs from what was signed")
    return int(signed["tree_size"]), bytes.fromhex(signed["root_hash"])


def main(folder: Path) -> int:
    head = json.loads((folder / "tree_head.json").read_text(encoding="utf-8"))
    try:
        size, root = signed_root(head)
    except (InvalidSignature, ValueError, KeyError) as error:
        print("tree head signature does NOT verify:", error or "bad signature")
        return 1
    print("tree head of", size, "events signed by", head["public_key"]["kid"])
    checked = failed = 0
    lines = (folder / "access_log_proofs.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines:
        entry = json.loads(line)
        leaf = hashlib.sha256(b"\x00" + entry["leaf_data"].encode("ascii")).digest()
        path = [bytes.fromhex(item) for item in entry["audit_path"]]
        if root_from_path(entry["leaf_index"], size, leaf, path) != root:
            print("NOT PROVEN:", entry["event_id"])
            failed += 1
        checked += 1
    print(checked - failed, "of", checked, "access-log entries proven to be in the signed log")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
