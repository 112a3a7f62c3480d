"""Alembic environment and revisions: the only way Custodian's schema is created.

A package so that it ships with the installed project; `persistence.migrate` finds it here.
"""
