"""The audit log: tamper-evident events, signed checkpoints, and reading them back (the customer's
access log, the officer's search).
"""
