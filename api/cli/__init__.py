"""The `custodian` command line."""
