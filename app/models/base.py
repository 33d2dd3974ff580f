"""Column helpers shared by the models."""

from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import Enum
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, column_now

E = TypeVar("E", bound=StrEnum)

# `__table_args__` of a table whose rows are deleted: SQLite then never gives a deleted row's
# id to a new one (without AUTOINCREMENT it reuses the largest), as PostgreSQL never does.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def enum_column(enum: type[E]) -> Enum:
    """A portable VARCHAR enum that stores the member values."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=column_now)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=column_now, onupdate=column_now
    )
