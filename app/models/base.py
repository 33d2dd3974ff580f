"""Column helpers shared by the models."""

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Enum, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, column_now

E = TypeVar("E", bound=StrEnum)

# `__table_args__` of a table whose rows are deleted: SQLite then never gives a deleted row's
# id to a new one (without AUTOINCREMENT it reuses the largest), as PostgreSQL never does.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}
# Marks a schema item that exists on PostgreSQL only (tests/test_migrations.py and
# migrations/env.py compare it there only).
POSTGRESQL_ONLY = "postgresql_only"


def postgresql_index(name: str, *expressions: Any, **kwargs: Any) -> Index:
    """An index created on PostgreSQL only (GIN, INCLUDE): SQLite has no such index."""
    index = Index(name, *expressions, info={POSTGRESQL_ONLY: True}, **kwargs)
    return index.ddl_if(dialect="postgresql")


def search_grams_index(table: str) -> Index:
    """The GIN index of a table's title and description bigrams (app/services/search.py)."""
    return postgresql_index(
        f"ix_{table}_search_grams",
        text("search_grams(title, description)"),
        postgresql_using="gin",
    )


def enum_column(enum: type[E], *, length: int = 32) -> Enum:
    """A portable VARCHAR enum that stores the member values."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=column_now)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=column_now, onupdate=column_now
    )


def schema_filter(dialect: str) -> Callable[..., bool]:
    """Alembic's `include_object` for a database of this dialect: PostgreSQL-only indexes are
    compared on PostgreSQL only."""

    def include(obj: Any, _name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
        return not (
            type_ == "index" and dialect != "postgresql" and obj.info.get(POSTGRESQL_ONLY, False)
        )

    return include
