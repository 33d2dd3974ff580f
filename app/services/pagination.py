"""Offset pagination with a total count, for every list route."""

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, inspect, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def _primary_key(stmt: Select[Any]) -> ColumnElement[Any] | None:
    """The one-column primary key of the one entity `stmt` selects, else None."""
    described = stmt.column_descriptions
    if len(described) != 1 or described[0].get("entity") is None:
        return None
    if described[0]["expr"] is not described[0]["entity"]:
        return None  # a column or an expression of the entity, not the entity itself
    key = inspect(described[0]["entity"]).primary_key
    return key[0] if len(key) == 1 else None


def _page_ids(
    session: Session,
    ids_stmt: Select[Any],
    pk: ColumnElement[Any],
    *,
    limit: int,
    offset: int,
    total: int,
) -> list[Any]:
    """The page's ids. Past the middle of a list ordered by its key alone, read from the other
    end: `offset=600000` of 700,000 audit events walks 100,000 index entries, not 600,000."""
    order = ids_stmt._order_by_clauses  # SQLAlchemy keeps the ORDER BY here (no public getter)
    if 2 * offset > total and len(order) == 1:
        reverse = {str(pk.desc()): pk.asc(), str(pk.asc()): pk.desc(), str(pk): pk.desc()}
        other_way = reverse.get(str(order[0]))
        if other_way is not None:
            start = max(0, total - offset - limit)
            size = max(0, min(limit, total - offset))
            page = ids_stmt.order_by(None).order_by(other_way).limit(size).offset(start)
            return list(reversed(session.scalars(page).all())) if size else []
    return list(session.scalars(ids_stmt.limit(limit).offset(offset)))


def paginate(
    session: Session, stmt: Select[T], *, limit: int, offset: int, one_pass: bool = False
) -> tuple[Sequence[T], int]:
    """One page of `stmt` (which carries its own stable order) and the total it would return.

    For a statement of one entity, the count and the page's offset walk only its ids (which
    an index on the order can give without reading the rows: docs/performance.md, "Volume"),
    and only the page's rows are then loaded, with the statement's own loader options.

    The page's ids past the middle of the list are read from its other end (`_page_ids`).

    `one_pass`: the page's ids and the total come from one statement (`count(*) OVER ()`),
    for a filter that is checked row by row (a search text of three or more characters):
    the matching rows are found once instead of once for the count and again for the page.
    """
    pk = _primary_key(stmt)
    if pk is None:
        total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        items = session.scalars(stmt.limit(limit).offset(offset)).all()
        return items, total or 0
    ids_stmt = stmt.with_only_columns(pk)
    if one_pass:
        rows = session.execute(
            ids_stmt.add_columns(func.count().over()).limit(limit).offset(offset)
        ).all()
        ids = [row[0] for row in rows]
        total = rows[0][1] if rows else None
    else:
        ids, total = [], None
    if total is None:  # not one pass, or an offset past the end (no row to carry the total)
        count = select(func.count()).select_from(ids_stmt.order_by(None).subquery())
        total = session.scalar(count) or 0
        if not one_pass:
            ids = _page_ids(session, ids_stmt, pk, limit=limit, offset=offset, total=total)
    if not ids:
        return [], total or 0
    items = session.scalars(stmt.where(pk.in_(ids))).all()
    return items, total or 0
