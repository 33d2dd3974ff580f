"""Offset pagination: every way of reading a page answers what LIMIT/OFFSET would."""

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Challenge
from app.services.pagination import paginate
from tests.factories import make_challenge, make_user


@pytest.mark.parametrize("descending", [True, False])
def test_pages_past_the_middle_read_from_the_other_end_give_the_same_rows(
    session: Session, descending: bool
) -> None:
    owner = make_user(session)
    for _ in range(7):
        make_challenge(session, owner=owner)
    key = Challenge.id.desc() if descending else Challenge.id
    stmt = select(Challenge).where(Challenge.organization_id == owner.organization_id)
    stmt = stmt.order_by(key)
    every = [c.id for c in session.scalars(stmt)]
    for limit in (1, 3, 10):
        for offset in range(10):
            items, total = paginate(session, stmt, limit=limit, offset=offset)
            assert total == 7
            assert [c.id for c in items] == every[offset : offset + limit], (limit, offset)


def test_an_order_that_is_not_the_key_alone_is_read_as_it_is(session: Session) -> None:
    owner = make_user(session)
    for budget in (5, 1, 3, 1, 2):
        make_challenge(session, owner=owner).budget = Decimal(budget)
    session.flush()
    stmt = (
        select(Challenge)
        .where(Challenge.organization_id == owner.organization_id)
        .order_by(Challenge.budget, Challenge.id.desc())
    )
    every = [c.id for c in session.scalars(stmt)]
    for offset in range(6):
        items, total = paginate(session, stmt, limit=2, offset=offset)
        assert ([c.id for c in items], total) == (every[offset : offset + 2], 5)
