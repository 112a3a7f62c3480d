"""The declarative base every table model derives from, and the declaration every column
carries: its data category, its retention class and whether it holds ciphertext."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from domain.retention import DataCategory, RetentionClass

# Stable constraint names, so migrations on SQLite (batch mode) and PostgreSQL agree.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def declare(
    category: DataCategory, retention: RetentionClass, *, sealed: bool = False
) -> dict[str, Any]:
    """The `info` every column carries: its data category, its retention class, and whether
    it holds a sealed value (ciphertext under the customer's key for that class)."""
    return {"category": category, "retention": retention, "sealed": sealed}


def sealed(category: DataCategory, retention: RetentionClass) -> dict[str, Any]:
    """`declare` for a column holding ciphertext."""
    return declare(category, retention, sealed=True)
