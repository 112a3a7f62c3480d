"""Consent per purpose: the purpose catalogue, the append-only ledger, changing a consent, and
whether a customer may be contacted.
"""
