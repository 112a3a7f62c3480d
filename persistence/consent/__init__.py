"""The purpose catalogue and the consent ledger on SQL."""
