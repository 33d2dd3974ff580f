"""Offset pagination with a total count, for every list route."""

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def paginate(
    session: Session, stmt: Select[T], *, limit: int, offset: int
) -> tuple[Sequence[T], int]:
    """One page of `stmt` (which carries its own stable order) and the total it would return."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = session.scalars(stmt.limit(limit).offset(offset)).all()
    return items, total or 0
