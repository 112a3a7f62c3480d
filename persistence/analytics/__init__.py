"""The analytics projection: pseudonymous, coarse, consenting customers only."""
