"""Storage adapters: SQLAlchemy models, repositories and the unit of work implementing the
domain's ports, field encryption and the key store, and the audit chain's storage."""
