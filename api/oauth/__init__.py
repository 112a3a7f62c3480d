"""Custodian as its own OAuth 2 authorization server (Authlib core) and resource guard."""
