"""Who may sign in, and the tokens they hold: clients, staff, credentials, grants, codes, refresh
tokens, revocations.
"""
