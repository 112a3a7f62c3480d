"""Every table of the application, gathered for Alembic and the schema tests.

Each model module is listed here (one line each) so that `metadata` knows every table;
a module missing from this list shows up as drift in `alembic check`.
"""

from __future__ import annotations

from importlib import import_module

from persistence.base import Base

MODEL_MODULES = (
    "persistence.keystore",  # data_keys, destroyed_keys
    "persistence.customer.tables",  # customers, profiles, accounts, transactions, interactions
    "persistence.audit.tables",  # audit_events, audit_head
    "persistence.oauth.tokens",  # OAuth tables; imports persistence.oauth.identity
    "persistence.consent.tables",  # purpose_notices, consent_events, consent_locks
    "persistence.audit.checkpoints",  # audit_checkpoints
    "persistence.customer.corrections",  # correction_requests
    "persistence.dsr.tables",  # jobs, dsr_requests
    "persistence.campaigns.tables",  # campaign_contacts, contact_locks, contact_preferences
    "persistence.analytics.tables",  # analytics_state, analytics_members, _months, _contacts
    "persistence.support.grants",  # access_grants
    "persistence.web.sessions",  # web_sessions
)
"""The modules that define tables, imported below for their side effect on `metadata`."""

for _module in MODEL_MODULES:
    import_module(_module)

metadata = Base.metadata
"""The MetaData holding every table; Alembic's autogenerate target."""
