"""A write to a challenge, capability or result never locks the shared `match_state` row
(PostgreSQL): it is numbered with its own transaction id. A term change updates that row
(the generation) only at commit, not while it segments.
"""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import get_engine, get_session_factory, migrate
from app.models import MatchDocument, MatchState, OrganizationKind, Role
from app.services import match_sync, matching
from tests.databases import create_database, postgres_url
from tests.factories import make_capability, make_user

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(postgres_url() is None, reason="needs PostgreSQL (POSTGRES_URL)"),
]


def _clear_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()
    get_session_factory.cache_clear()


@pytest.fixture
def pg_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database that the app's session factory uses."""
    monkeypatch.setenv("DATABASE_URL", postgres_url() or "")
    url, drop = create_database(tmp_path)
    try:  # a migration that fails leaves no database behind either
        migrate(url)
        monkeypatch.setenv("DATABASE_URL", url)
        _clear_caches()
        yield url
    finally:
        get_engine().dispose()
        _clear_caches()
        drop()


def _state_is_free_while(write: Callable[[Session], None], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run `write` in a transaction of its own thread with segmentation paused; while it is
    paused, take the match_state row with NOWAIT from another connection. Returns the row's
    seq seen then."""
    factory = get_session_factory()
    segmenting, release = threading.Event(), threading.Event()
    real_analyze = match_sync.analyze

    def slow_analyze(*args: Any, **kwargs: Any) -> Any:
        segmenting.set()
        assert release.wait(10)
        return real_analyze(*args, **kwargs)

    monkeypatch.setattr(match_sync, "analyze", slow_analyze)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with factory.begin() as session:
                write(session)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    writer = threading.Thread(target=run)
    writer.start()
    try:
        assert segmenting.wait(10), "the write never segmented"
        with get_engine().connect() as other:
            other.execute(text("SET lock_timeout = '2s'"))
            # Fails with "could not obtain lock" if the writer holds the row while segmenting.
            seq = other.execute(
                select(MatchState.seq).where(MatchState.id == 1).with_for_update(nowait=True)
            ).scalar_one()
            other.rollback()
    finally:
        release.set()
        writer.join(20)
    assert not writer.is_alive()
    assert not failures, failures
    return int(seq)


def test_match_state_is_free_while_a_write_segments(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with get_session_factory().begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)

    seq = _state_is_free_while(
        lambda session: make_capability(
            session, owner=uni, title="热解氮化硼坩埚", description="涂层"
        ),
        monkeypatch,
    )

    with Session(get_engine()) as session:
        stored = session.scalars(select(MatchDocument.seq)).all()
        state = session.scalar(select(MatchState.seq))
    assert len(stored) == 1
    assert stored[0] > 0  # numbered at commit: the writer's transaction id
    assert state == seq  # the SQLite counter, untouched


def test_match_state_is_free_while_a_new_term_resegments(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with get_session_factory().begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)
        staff = make_user(session, role=Role.bureau)
        make_capability(session, owner=uni, title="热解氮化硼坩埚", description="涂层")

    _state_is_free_while(
        lambda session: matching.add_term(
            session, staff=session.merge(staff), term="氮化硼坩埚", canonical=None
        ),
        monkeypatch,
    )

    with Session(get_engine()) as session:
        assert session.scalar(select(MatchState.generation)) == 1
