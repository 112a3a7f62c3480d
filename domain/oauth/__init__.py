"""Signing in and the records behind issued tokens: login throttling, grants, codes, refresh
tokens, and the ports they need.
"""
