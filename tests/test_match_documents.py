"""The stored match documents and how a second process follows them: a term change re-reads
only the documents that contain it, loading and catching up read in batches, a rebuild never
overwrites a newer edit and writes only what changed. On the suite's database (SQLite, or
PostgreSQL with DATABASE_URL), committing for real."""

from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from sqlalchemy import delete, event, select, update

from app.db import get_engine, get_session_factory
from app.matching import MatchIndex
from app.models import Capability, MatchDocument, MatchState, OrganizationKind, Role, User
from app.services import match_sync, matching
from app.services.match_sync import rebuilding
from tests.factories import make_capability, make_user

TERM = "量子点墨水"


def _catch_up(runtime: match_sync.Runtime) -> None:
    with get_session_factory()() as session:
        runtime.catch_up(session.connection())


def _loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys every index of this process is given from now on (loads and upserts)."""
    keys: list[str] = []
    upsert, bulk_load = MatchIndex.upsert, MatchIndex.bulk_load

    def spy_upsert(self: MatchIndex, key: str, *args: Any) -> None:
        keys.append(key)
        upsert(self, key, *args)

    def spy_bulk_load(self: MatchIndex, items: Iterable[tuple[str, Any, Any]]) -> None:
        def seen() -> Iterable[tuple[str, Any, Any]]:
            for item in items:
                keys.append(item[0])
                yield item

        bulk_load(self, seen())

    monkeypatch.setattr(MatchIndex, "upsert", spy_upsert)
    monkeypatch.setattr(MatchIndex, "bulk_load", spy_bulk_load)
    return keys


def test_a_term_change_rereads_only_the_documents_containing_it(
    live_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with get_session_factory().begin() as session:
        staff = make_user(session, role=Role.bureau)
        uni = make_user(session, kind=OrganizationKind.university)
        hit = make_capability(session, owner=uni, title=f"{TERM}团队", description="涂层")
        for i in range(5):
            make_capability(session, owner=uni, title=f"洁净钢团队{i}", description="夹杂物")
        staff_id, hit_id = staff.id, hit.id
    other = match_sync.Runtime()  # a second process, loaded before the change
    _catch_up(other)
    assert other.tokenizer.tokenize(TERM) != [TERM]
    loaded = _loads(monkeypatch)

    with get_session_factory().begin() as session:
        staff = session.get_one(User, staff_id)
        term = matching.add_term(session, staff=staff, term=TERM, canonical=None)
        term_id = term.id
    _catch_up(other)
    assert loaded == [str(hit_id)]
    assert other.tokenizer.tokenize(TERM) == [TERM]  # its tokenizer has the new term
    query = match_sync.analyze({"title": TERM}, other.tokenizer)
    assert [m.key for m in other.indexes["capability"].search(query, limit=1)] == [str(hit_id)]

    loaded.clear()
    with get_session_factory().begin() as session:
        matching.delete_term(session, staff=session.get_one(User, staff_id), term_id=term_id)
    _catch_up(other)
    assert loaded == [str(hit_id)]
    assert other.tokenizer.tokenize(TERM) != [TERM]
    with get_session_factory()() as session:
        assert session.scalar(select(MatchState.generation)) == 2  # one per term change


def _queries_on_documents(statements: list[str]) -> list[str]:
    """The statements that read documents (not those that count them)."""
    return [s for s in statements if "FROM match_document" in s and "count(" not in s]


def test_loading_and_catching_up_read_a_batch_per_query(
    live_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(match_sync, "LOAD_BATCH", 2)
    with get_session_factory().begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)
        for i in range(5):
            make_capability(session, owner=uni, title=f"洁净钢团队{i}", description="夹杂物")
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(get_engine(), "before_cursor_execute", record)
    try:
        runtime = match_sync.Runtime()
        _catch_up(runtime)
        loads = _queries_on_documents(statements)
        assert len(runtime.indexes["capability"]) == 5
        # 5 capabilities at 2 a query: 3 queries, and one each for the two empty kinds.
        assert len(loads) == 5
        assert all("LIMIT" in s for s in loads)

        with get_session_factory().begin() as session:
            for i in range(5):  # five transactions' worth of changes in one
                make_capability(session, owner=uni, title=f"精密轴承团队{i}", description="磨削")
        statements.clear()
        _catch_up(runtime)
        catch_ups = _queries_on_documents(statements)
        assert len(runtime.indexes["capability"]) == 10
        assert len(catch_ups) == 3
        assert all("LIMIT" in s for s in catch_ups)
    finally:
        event.remove(get_engine(), "before_cursor_execute", record)


def test_a_process_far_behind_loads_anew_instead_of_updating_one_by_one(
    live_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(match_sync, "RELOAD_AFTER", 3)
    with get_session_factory().begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)
        make_capability(session, owner=uni, title="洁净钢团队", description="夹杂物")
    runtime = match_sync.Runtime()
    _catch_up(runtime)
    loaded = _loads(monkeypatch)
    with get_session_factory().begin() as session:
        make_capability(session, owner=uni, title="精密轴承团队", description="磨削")
    _catch_up(runtime)  # one change: applied on its own
    assert loaded == ["2"]
    with get_session_factory().begin() as session:
        for i in range(4):
            make_capability(session, owner=uni, title=f"玉米秸秆团队{i}", description="还田")
    loaded.clear()
    _catch_up(runtime)  # four: loaded anew
    assert sorted(loaded) == [str(i) for i in range(1, 7)]
    assert len(runtime.indexes["capability"]) == 6


def _documents() -> dict[int, tuple[dict[str, list[str]] | None, int]]:
    with get_session_factory()() as session:
        rows = session.execute(
            select(MatchDocument.object_id, MatchDocument.tokens, MatchDocument.seq)
        )
        return {row.object_id: (row.tokens, row.seq) for row in rows}


def test_a_rebuild_never_overwrites_an_edit_made_while_it_segments(
    live_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with get_session_factory().begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)
        edited = make_capability(session, owner=uni, title="洁净钢团队", description="夹杂物")
        kept = make_capability(session, owner=uni, title="精密轴承团队", description="磨削")
        edited_id, kept_id = edited.id, kept.id
    with get_session_factory().begin() as session:  # as if stored before fingerprints
        session.execute(update(MatchDocument).values(fingerprint=None))
    real = rebuilding.analyze_many

    def edit_while_segmenting(items: list[Mapping[str, str]], *args: Any) -> Any:
        with get_session_factory().begin() as session:  # commits while the batch segments
            session.get_one(Capability, edited_id).title = f"{TERM}团队"
        return real(items, *args)

    monkeypatch.setattr(rebuilding, "analyze_many", edit_while_segmenting)
    count = rebuilding.rebuild(get_session_factory())
    assert count == 2
    documents = _documents()
    edited_tokens, kept_tokens = documents[edited_id][0], documents[kept_id][0]
    assert edited_tokens is not None
    assert kept_tokens is not None
    assert "墨水" in edited_tokens["title"]  # the edit's tokens, not the rebuild's stale ones
    assert "轴承" in kept_tokens["title"]


def test_a_rebuild_writes_only_the_tokens_that_changed(live_database: str) -> None:
    with get_session_factory().begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)
        for i in range(3):
            make_capability(session, owner=uni, title=f"洁净钢团队{i}", description="夹杂物")
    before = _documents()
    with get_session_factory().begin() as session:
        state = session.scalar(select(MatchState.seq))
    assert rebuilding.rebuild(get_session_factory()) == 3
    assert _documents() == before  # nothing renumbered: no process re-reads anything
    with get_session_factory()() as session:
        assert session.scalar(select(MatchState.seq)) == state


def test_documents_missing_after_an_upgrade_are_written_at_start(live_database: str) -> None:
    with get_session_factory().begin() as session:
        uni = make_user(session, kind=OrganizationKind.university)
        ids = [make_capability(session, owner=uni, title=f"团队{i}").id for i in range(3)]
    with get_session_factory().begin() as session:
        session.execute(delete(MatchDocument).where(MatchDocument.object_id == ids[1]))
    assert rebuilding.ensure_documents(get_session_factory()) == 1
    assert set(_documents()) == set(ids)
    assert rebuilding.ensure_documents(get_session_factory()) == 0
