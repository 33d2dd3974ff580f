"""Tokens segmented with a term list that changed before they commit are not stored
(PostgreSQL, where a write and a term change can overlap; on SQLite a writing transaction
holds the file's write lock from its start, so they cannot): a write segments again at
commit; a term change that missed a write containing its word is refused and runs again.
"""

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import get_session_factory
from app.errors import TermsChanged
from app.models import MatchDocument, MatchTerm, OrganizationKind, Role, User
from app.services import match_sync, matching
from tests.databases import postgres_url
from tests.factories import make_capability, make_user

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(postgres_url() is None, reason="needs PostgreSQL (POSTGRES_URL)"),
]

TERM = "量子点墨水"


@pytest.fixture
def pg_database(live_database: str) -> str:
    if not live_database.startswith("postgresql"):
        pytest.skip("runs on PostgreSQL only (DATABASE_URL names SQLite)")
    return live_database


def _people() -> tuple[int, User]:
    with get_session_factory().begin() as session:
        staff = make_user(session, role=Role.bureau)
        uni = make_user(session, kind=OrganizationKind.university)
        return staff.id, uni


def _tokens(object_id: int) -> list[str]:
    with get_session_factory()() as session:
        tokens = session.scalar(
            select(MatchDocument.tokens).where(MatchDocument.object_id == object_id)
        )
    assert tokens is not None
    return tokens["title"]


def test_a_write_segmented_before_a_term_change_and_committed_after_it_is_segmented_again(
    pg_database: str,
) -> None:
    staff_id, uni = _people()
    with get_session_factory()() as writer:
        capability = make_capability(writer, owner=writer.merge(uni), title=f"{TERM}团队")
        assert TERM not in _tokens_in(writer, capability.id)  # segmented with the old terms
        with get_session_factory().begin() as session:
            staff = session.get_one(User, staff_id)
            matching.add_term(session, staff=staff, term=TERM, canonical=None)
        writer.commit()  # segments again, before taking its number
    assert TERM in _tokens(capability.id)


def _tokens_in(session: Session, object_id: int) -> list[str]:
    tokens = session.scalar(
        select(MatchDocument.tokens).where(MatchDocument.object_id == object_id)
    )
    assert tokens is not None
    return tokens["title"]


def test_a_term_change_that_missed_a_write_containing_it_is_refused(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff_id, uni = _people()
    real = match_sync.containing
    written: list[int] = []

    def write_meanwhile(session: Any, words: Sequence[str]) -> Any:
        found = real(session, words)
        with get_session_factory().begin() as other:  # commits with the old terms
            written.append(make_capability(other, owner=other.merge(uni), title=f"{TERM}团队").id)
        return found

    monkeypatch.setattr(match_sync, "containing", write_meanwhile)
    with pytest.raises(TermsChanged), get_session_factory().begin() as session:
        matching.add_term(session, staff=session.get_one(User, staff_id), term=TERM, canonical=None)
    monkeypatch.setattr(match_sync, "containing", real)

    with get_session_factory().begin() as session:  # the request, run again
        matching.add_term(session, staff=session.get_one(User, staff_id), term=TERM, canonical=None)
    with get_session_factory()() as session:
        assert session.scalars(select(MatchTerm.term)).all() == [TERM]
    assert TERM in _tokens(written[0])
