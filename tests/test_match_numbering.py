"""Match documents get their change number at commit: none stays pending, savepoints or not.

(The number is the counter's next value on SQLite, the transaction's id on PostgreSQL.)
"""

from sqlalchemy import select

from app.db import get_session_factory
from app.models import Capability, MatchDocument, OrganizationKind
from app.services import match_sync
from tests.factories import make_capability, make_user


def _numbers() -> dict[int, int]:
    with get_session_factory()() as session:
        rows = session.execute(select(MatchDocument.object_id, MatchDocument.seq)).all()
    return {row.object_id: row.seq for row in rows}


def test_rows_written_by_the_commits_own_flush_are_numbered(live_database: str) -> None:

    with get_session_factory().begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)
    with get_session_factory().begin() as session:
        session.add(
            Capability(
                organization_id=uni.organization_id,
                created_by_id=uni.id,
                title="热解氮化硼坩埚",
                description="涂层",
            )
        )  # no flush: commit's own
    numbers = _numbers()
    assert len(numbers) == 1
    assert next(iter(numbers.values())) > 0


def test_a_rolled_back_savepoint_leaves_nothing_pending(live_database: str) -> None:

    with get_session_factory().begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)
        kept = make_capability(session, owner=uni, title="洁净钢", description="夹杂物")
        nested = session.begin_nested()
        make_capability(session, owner=uni, title="热解氮化硼", description="涂层")
        nested.rollback()
        kept_id = kept.id
    numbers = _numbers()
    assert list(numbers) == [kept_id]
    assert numbers[kept_id] > 0
    assert match_sync.PENDING not in numbers.values()
