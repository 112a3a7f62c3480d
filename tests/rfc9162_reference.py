"""A test-only RFC 9162 Merkle tree, written straight from the RFC's recursive definitions
(sections 2.1.1, 2.1.3.1 and 2.1.4.1) over whole leaf lists, sharing no code with
`domain.audit.merkle`: the product's proofs are cross-checked against it."""

from __future__ import annotations

from hashlib import sha256


def mth(data: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf *inputs* (not hashes)."""
    n = len(data)
    if n == 0:
        return sha256(b"").digest()
    if n == 1:
        return sha256(b"\x00" + data[0]).digest()
    k = _split(n)
    return sha256(b"\x01" + mth(data[:k]) + mth(data[k:])).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def path(m: int, data: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf m."""
    n = len(data)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*path(m, data[:k]), mth(data[k:])]
    return [*path(m - k, data[k:]), mth(data[:k])]


def proof(m: int, data: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): the consistency proof from the first m leaves."""
    return _subproof(m, data, True)


def _subproof(m: int, data: list[bytes], whole: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if whole else [mth(data)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, data[:k], whole), mth(data[k:])]
    return [*_subproof(m - k, data[k:], False), mth(data[:k])]


def root_from_path(m: int, n: int, leaf: bytes, audit_path: list[bytes]) -> bytes:
    """The root an audit path leads to, by unwinding PATH(m, D[n]) recursively: the last
    element is the sibling at the top split."""
    if n == 1:
        assert not audit_path, "too long"
        return leaf
    assert audit_path, "too short"
    k = _split(n)
    *deeper, sibling = audit_path
    if m < k:
        return sha256(b"\x01" + root_from_path(m, k, leaf, deeper) + sibling).digest()
    return sha256(b"\x01" + sibling + root_from_path(m - k, n - k, leaf, deeper)).digest()
