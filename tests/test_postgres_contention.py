"""PostgreSQL under contention: lock waits end in a 503 with Retry-After, races end in 404/409,
a deadlock or serialisation failure is run once more, and nothing answers 500. (The races of
an edit or a deletion with a deletion run on both databases: tests/test_concurrent_writes.py.)

Each test commits real rows into a fresh database of its own (`live_database`); skipped
without PostgreSQL.
"""

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import get_session_factory, make_engine
from app.main import create_app
from app.models import AuditEvent, Capability, OrganizationKind, User
from app.retry import ATTEMPTS
from app.schemas.offering import CapabilityCreate
from app.services import match_sync, offerings
from tests.databases import postgres_url
from tests.factories import BID_BODY, headers, make_challenge, make_user
from tests.servers import serve

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(postgres_url() is None, reason="needs PostgreSQL (POSTGRES_URL)"),
]

API = "/api/v1"
WRITERS = 20
LOCK_TIMEOUT = 1.0  # seconds, the server's DB_LOCK_TIMEOUT


@pytest.fixture
def pg_database(live_database: str) -> str:
    if not live_database.startswith("postgresql"):
        pytest.skip("runs on PostgreSQL only (DATABASE_URL names SQLite)")
    return live_database


def test_connections_carry_the_timeouts_of_the_settings_and_no_jit(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_LOCK_TIMEOUT", "0.25")
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT", "12")
    get_settings.cache_clear()
    engine = make_engine(pg_database)
    try:
        with engine.connect() as connection:
            shown = [
                connection.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("lock_timeout", "statement_timeout", "jit")
            ]
    finally:
        engine.dispose()
        get_settings.cache_clear()
    assert shown == ["250ms", "12s", "off"]


@pytest.fixture
def server(pg_database: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """uvicorn on the test's database, with a short lock timeout."""
    env = {
        **os.environ,
        "DATABASE_URL": pg_database,
        "SECRET_KEY": get_settings().secret_key,  # tokens are signed in this process
        "RATE_LIMITS": "off",
        "MATCH_WARMUP": "0",
        "DEMO": "0",
        "LOG_LEVEL": "WARNING",
        "DB_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
    }
    with serve(env, request=request) as served:
        yield served.url


Call = Callable[[httpx.Client], httpx.Response]


def fire(url: str, calls: list[Call]) -> tuple[list[httpx.Response], float]:
    """Send the calls at once, one thread and client each: the answers and the seconds taken."""
    barrier = threading.Barrier(len(calls))
    answers: list[httpx.Response | BaseException | None] = [None] * len(calls)

    def run(i: int) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            barrier.wait(timeout=30)  # a thread that never starts breaks it: no hang
            try:
                answers[i] = calls[i](client)
            except BaseException as exc:  # a timeout is a failure to report, not a crash
                answers[i] = exc

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    stop = started + 60  # one bound for all, so a stuck thread cannot keep the run alive
    for thread in threads:
        thread.join(timeout=max(0.0, stop - time.monotonic()))
    elapsed = time.monotonic() - started
    responses = []
    for answer in answers:
        assert isinstance(answer, httpx.Response), f"no answer: {answer!r}"
        responses.append(answer)
    return responses, elapsed


@contextmanager
def held_lock(url: str, statement: str, params: dict[str, int]) -> Iterator[None]:
    """A transaction on its own connection that holds `statement`'s lock while open."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            connection.execute(text(statement), params)
            yield
    finally:
        engine.dispose()


def assert_busy_or_ok(response: httpx.Response) -> None:
    assert response.status_code < 300 or response.status_code == 503, response.text
    if response.status_code == 503:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "database_busy"
        assert int(response.headers["retry-after"]) >= 1


def test_writes_behind_a_held_lock_answer_503_quickly_and_reads_go_on(
    server: str, pg_database: str
) -> None:
    with get_session_factory().begin() as db:
        owner = make_user(db)
        challenge = make_challenge(db, owner=owner)
        universities = [make_user(db, kind=OrganizationKind.university) for _ in range(WRITERS)]
        challenge_id = challenge.id
        tokens = [headers(u) for u in universities]

    def bid(token: dict[str, str]) -> Call:
        path = f"{API}/challenges/{challenge_id}/bids"
        return lambda c: c.post(path, json=BID_BODY, headers=token)

    def post_capability(token: dict[str, str]) -> Call:
        body = {"title": "先进陶瓷团队", "description": "氮化硼"}
        return lambda c: c.post(f"{API}/capabilities", json=body, headers=token)

    reads: list[Call] = [
        lambda c: c.get(f"{API}/capabilities"),
        lambda c: c.get(f"{API}/results"),
        lambda c: c.get(f"{API}/challenges"),
    ]
    # Bids lock their challenge; every capability write takes the match terms' lock, shared,
    # at commit (held here exclusively, as a term change's commit does).
    rounds = [
        ("SELECT id FROM challenge WHERE id = :id FOR UPDATE", {"id": challenge_id}, bid),
        ("SELECT pg_advisory_xact_lock(:id)", {"id": match_sync.TERMS_LOCK}, post_capability),
    ]
    for statement, params, write in rounds:
        with held_lock(pg_database, statement, params):
            responses, elapsed = fire(server, [write(t) for t in tokens] + reads)

        writes, read_answers = responses[:WRITERS], responses[WRITERS:]
        for response in responses:
            assert_busy_or_ok(response)
        # The lock was held throughout: every write waited its lock_timeout, then gave up.
        assert [r.status_code for r in writes] == [503] * WRITERS
        assert [r.status_code for r in read_answers] == [200] * len(reads)
        # The old stall was 30 s and a 500. 20 s still tells the two apart, with room for a
        # loaded 2-core machine to send 23 requests that each wait LOCK_TIMEOUT at most.
        assert elapsed < 20, elapsed

    # Once the lock is gone the same writes go through.
    responses, _ = fire(server, [bid(tokens[0]), post_capability(tokens[1])])
    assert [r.status_code for r in responses] == [201, 201]


def audited(db: Session, action: str, object_id: int) -> int:
    stmt = select(func.count(AuditEvent.id)).where(
        AuditEvent.action == action, AuditEvent.object_id == object_id
    )
    return db.scalar(stmt) or 0


def _raise_sqlstate(session: Session, sqlstate: str) -> None:
    """Make PostgreSQL itself fail this transaction with the given SQLSTATE."""
    session.execute(
        text(f"DO $$ BEGIN RAISE EXCEPTION 'test failure' USING ERRCODE = '{sqlstate}'; END $$")
    )


@pytest.fixture
def failing_create(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, int], list[str]]:
    """Make `create_offering` fail its transaction `times` times with `sqlstate`, after it
    wrote its rows; returns the list of the titles it was called with."""

    def arrange(sqlstate: str, times: int) -> list[str]:
        calls: list[str] = []
        real = offerings.create_offering

        def flaky(
            session: Session, model: type[Capability], *, owner: User, data: CapabilityCreate
        ) -> Capability:
            calls.append(data.title)
            item = real(session, model, owner=owner, data=data)
            session.flush()
            if len(calls) <= times:
                _raise_sqlstate(session, sqlstate)
            return item

        monkeypatch.setattr(offerings, "create_offering", flaky)
        return calls

    return arrange


def _count_capabilities(title: str) -> int:
    with get_session_factory()() as db:
        return db.scalar(select(func.count(Capability.id)).where(Capability.title == title)) or 0


@pytest.mark.parametrize("failures", [1, ATTEMPTS - 1])
@pytest.mark.parametrize("sqlstate", ["40P01", "40001"], ids=["deadlock", "serialisation"])
def test_a_deadlock_or_serialisation_failure_is_run_again(
    failing_create: Callable[[str, int], list[str]],
    sqlstate: str,
    failures: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = failing_create(sqlstate, failures)
    with get_session_factory().begin() as db:
        token = headers(make_user(db, kind=OrganizationKind.university))
    title = f"重试团队{uuid.uuid4().hex[:6]}"

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        response = client.post(
            f"{API}/capabilities", json={"title": title, "description": "氮化硼"}, headers=token
        )

    assert response.status_code == 201, response.text
    assert calls == [title] * (failures + 1)  # the body was replayed to every run
    assert "running it again" in caplog.text
    assert _count_capabilities(title) == 1  # the failed runs' rows were rolled back
    with get_session_factory()() as db:
        assert audited(db, "capability.create", response.json()["id"]) == 1


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"], ids=["deadlock", "serialisation"])
def test_a_deadlock_or_serialisation_failure_in_every_run_answers_503(
    failing_create: Callable[[str, int], list[str]], sqlstate: str
) -> None:
    calls = failing_create(sqlstate, ATTEMPTS)
    with get_session_factory().begin() as db:
        token = headers(make_user(db, kind=OrganizationKind.university))
    title = f"重试团队{uuid.uuid4().hex[:6]}"

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        response = client.post(
            f"{API}/capabilities", json={"title": title, "description": "氮化硼"}, headers=token
        )

    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "database_busy"
    assert int(response.headers["retry-after"]) >= 1
    assert calls == [title] * ATTEMPTS  # the first run and two replays, not more
    assert _count_capabilities(title) == 0


@pytest.mark.parametrize("sqlstate", ["55P03", "57014"], ids=["lock-timeout", "statement-timeout"])
def test_a_timeout_is_a_503_and_not_run_again(
    failing_create: Callable[[str, int], list[str]], sqlstate: str
) -> None:
    calls = failing_create(sqlstate, 1)
    with get_session_factory().begin() as db:
        token = headers(make_user(db, kind=OrganizationKind.university))

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        response = client.post(
            f"{API}/capabilities", json={"title": "超时团队", "description": "氮"}, headers=token
        )

    assert response.status_code == 503, response.text
    assert response.json()["code"] == "database_busy"
    assert "retry-after" in response.headers
    assert len(calls) == 1
