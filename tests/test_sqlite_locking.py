"""SQLite: a transaction that may write takes the write lock when it begins; a read takes none.

SQLite has one write lock for the whole database, and a deferred transaction that reads and
then writes fails at once ("database is locked") when another writer holds it: the busy
handler does not run for that upgrade. So requests that may write (any method but GET, HEAD,
OPTIONS) and command-line sessions begin IMMEDIATE and wait up to the busy timeout; reads
begin deferred and never wait. PostgreSQL has row locks and is not concerned.
"""

import sqlite3
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, select, text

from app.bootstrap import main as bootstrap
from app.config import get_settings
from app.db import get_engine, get_read_session_factory, get_session_factory
from app.main import create_app
from app.models import OrganizationKind, Role, User
from tests.factories import PASSWORD, headers, make_challenge, make_user

API = "/api/v1"


@pytest.fixture
def sqlite_database(live_database: str) -> str:
    if not live_database.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock")
    return live_database


@pytest.fixture
def client(sqlite_database: str) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


class World:
    def __init__(self) -> None:
        with get_session_factory().begin() as session:
            self.owner = make_user(session)
            self.university = make_user(session, kind=OrganizationKind.university)
            self.challenge = make_challenge(session, owner=self.owner)


@pytest.fixture
def world(sqlite_database: str) -> World:
    return World()


def try_to_write(url: str) -> None:
    """Take the write lock from a plain sqlite3 connection that will not wait for it."""
    path = make_url(url).database
    assert path is not None
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def test_a_write_session_holds_the_write_lock_from_its_first_statement(
    world: World, sqlite_database: str
) -> None:
    with get_session_factory()() as session:
        session.execute(select(User.id)).all()  # only a read so far
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            try_to_write(sqlite_database)
    try_to_write(sqlite_database)  # released at the end of the transaction


def test_a_read_session_takes_no_lock(world: World, sqlite_database: str) -> None:
    with get_read_session_factory()() as session:
        session.execute(select(User.id)).all()
        try_to_write(sqlite_database)  # another writer is not kept waiting


@pytest.fixture
def held_write_lock(sqlite_database: str) -> Iterator[threading.Event]:
    """Another connection holds the database's write lock until the event is set."""
    release = threading.Event()
    locked = threading.Event()

    def hold() -> None:
        with get_engine().connect() as connection, connection.begin():
            connection.execute(text("UPDATE match_state SET seq = seq"))
            locked.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=30)
    yield release
    release.set()
    holder.join(timeout=30)


def release_soon(release: threading.Event) -> threading.Timer:
    timer = threading.Timer(0.5, release.set)
    timer.start()
    return timer


def test_a_request_that_writes_waits_for_the_lock_instead_of_failing(
    client: TestClient, world: World, held_write_lock: threading.Event
) -> None:
    body = {"title": "洁净钢团队", "description": "夹杂物控制", "tags": []}
    # A read needs no lock: it answers while the other writer still holds it.
    assert client.get(f"{API}/challenges/{world.challenge.id}").status_code == 200
    assert not held_write_lock.is_set()
    release_soon(held_write_lock)
    r = client.post(f"{API}/capabilities", json=body, headers=headers(world.university))
    assert r.status_code == 201, r.text
    assert held_write_lock.is_set()  # it answered after the lock was released, not before


def test_a_command_line_writer_waits_for_the_lock_instead_of_failing(
    world: World, held_write_lock: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRST_BUREAU_USERNAME", "first_bureau")
    monkeypatch.setenv("FIRST_BUREAU_PASSWORD", "Kq7!vT2m-first-bureau")
    monkeypatch.setenv("DEMO", "0")
    get_settings.cache_clear()
    release_soon(held_write_lock)
    bootstrap([])
    assert held_write_lock.is_set()
    with get_session_factory()() as session:
        user = session.scalar(select(User).where(User.username == "first_bureau"))
        assert user is not None
        assert user.role is Role.bureau


def test_sign_in_and_previews_answer_while_another_writer_holds_the_lock(
    client: TestClient, world: World, held_write_lock: threading.Event, sqlite_database: str
) -> None:
    # POSTs that write nothing take no write lock: a password hash or a long segmentation
    # never holds every writer up.
    signed_in = client.post(
        f"{API}/auth/token", data={"username": world.university.username, "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    preview = client.post(
        f"{API}/matching/preview",
        json={"text": "热解氮化硼坩埚", "target": "challenges"},
        headers=headers(world.university),
    )
    assert preview.status_code == 200, preview.text
    # Both answered while the other writer still held the lock (it gives up after 30 s).
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        try_to_write(sqlite_database)
