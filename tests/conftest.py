"""Test database and client.

The schema is built by `alembic upgrade head` on a fresh database: a temporary SQLite file, or,
when DATABASE_URL names PostgreSQL, a new database created beside it and dropped at the end.
Each test runs inside one outer transaction that is rolled back afterwards; the app's
per-request commits become SAVEPOINT releases inside it ("joining a session into an external
transaction").
"""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

# Before the app is imported (app.main builds the app, reading the settings): a key for this
# run, so no key file is written into the repo's var/; servers started by tests inherit it.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import get_engine, get_session, get_session_factory, make_engine, migrate
from app.main import create_app
from app.ratelimit import reset_abuse_limits
from app.services.match_sync import reset_runtimes
from tests.databases import create_database

ROOT = Path(__file__).resolve().parents[1]
# Tests load each test's match index themselves, from the test's own database.
os.environ.setdefault("MATCH_WARMUP", "0")
get_settings.cache_clear()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Settings read while a test had changed the environment do not outlive the test.

    Autouse, so set up first and torn down last: by then monkeypatch has restored the
    environment, and the next test reads the settings anew.
    """
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, drop = create_database(tmp_path_factory.mktemp("db"))
    try:
        migrate(url)
        yield url
    finally:
        drop()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        db = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield db
        finally:
            db.close()
            outer.rollback()


@pytest.fixture(scope="session")
def app() -> FastAPI:
    return create_app()


@pytest.fixture
def client(app: FastAPI, session: Session) -> Iterator[TestClient]:
    """The app, with every request's session joined to the test's transaction."""
    reset_runtimes()  # the match index starts from what this test's database holds
    reset_abuse_limits()  # no test sees another's sign-in or preview counts

    def test_session() -> Iterator[Session]:
        # What the test wrote before this request is committed (into the outer transaction),
        # so a request that fails rolls back only its own work, as in production.
        session.commit()
        session.expire_all()  # each request starts from the database, as with a fresh session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    app.dependency_overrides[get_session] = test_session
    try:
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        app.dependency_overrides.clear()


@pytest.fixture
def live_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated database that the app itself uses, committing for real.

    For the tests of the request-session path and of concurrency: nothing here is rolled back,
    so each such test gets its own database.
    """
    url, drop = create_database(tmp_path)
    try:
        migrate(url)
        monkeypatch.setenv("DATABASE_URL", url)
        _clear_caches()
        yield url
        get_engine().dispose()
        _clear_caches()
    finally:
        drop()


def _clear_caches() -> None:
    get_settings.cache_clear()
    reset_abuse_limits()
    get_engine.cache_clear()
    get_session_factory.cache_clear()


# The real-server race fixtures, for every test module (they need the helpers above).
from tests.races import database, server  # noqa: E402, F401
