"""Custodian's domain: customers, their data, and the rules that protect it.

Pure Python. Nothing here knows about HTTP, SQL or OAuth libraries; the ports in
`domain.ports` are what the outer layers implement.
"""
