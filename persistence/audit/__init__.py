"""Audit log storage: the append-only event chain, group commit, verification, signed checkpoints,
and filtered reads.
"""
