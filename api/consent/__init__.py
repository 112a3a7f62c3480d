"""Consent ledger routes: /v1/me/consents."""
