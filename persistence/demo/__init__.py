"""`custodian demo`: deterministic synthetic customers with two years of history, loaded in bulk."""
