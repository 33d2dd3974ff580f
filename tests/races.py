"""Real-server races: a fresh database of each kind, the API on it in its own process, and a
burst of requests sent at once.

`database` and `server` are fixtures (made available to every test by tests/conftest.py),
parametrised on SQLite and PostgreSQL (skipped only without POSTGRES_URL); `fire` sends the
calls together, each from its own thread and connection, released by one barrier.
"""

import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import Base, get_engine, get_session_factory, migrate
from app.models import AuditEvent
from tests.databases import create_database, postgres_url
from tests.servers import serve

API = "/api/v1"
REQUEST_TIMEOUT = 60  # seconds: longer than SQLite's busy timeout (30 s), so a wait shows
START_TIMEOUT = 30


def _clear_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()
    get_session_factory.cache_clear()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(
                    postgres_url() is None, reason="needs PostgreSQL (POSTGRES_URL)"
                ),
            ],
        ),
    ]
)
def database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh, migrated database of the kind named by the parameter; the app's own."""
    if request.param == "postgresql":
        monkeypatch.setenv("DATABASE_URL", postgres_url() or "")  # a new database beside it
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)  # a SQLite file under tmp_path
    url, drop = create_database(tmp_path)
    try:  # a migration that fails leaves no database behind either
        migrate(url)
        monkeypatch.setenv("DATABASE_URL", url)
        # The server checks the tokens this process signs: both must use one key.
        if not os.environ.get("SECRET_KEY"):
            monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
        _clear_caches()
        yield url
    finally:
        get_engine().dispose()
        _clear_caches()
        drop()


def server_env(database: str, **extra: str) -> dict[str, str]:
    """The environment of a served API on the test's database (the key comes from
    ``database``): quiet, no rate limits, the index loaded by the first match."""
    return {
        **os.environ,
        "DATABASE_URL": database,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMITS": "off",
        "MATCH_WARMUP": "0",
        **extra,
    }


@pytest.fixture
def server(database: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The API in its own process on the test's database; its base URL."""
    with serve(server_env(database), start_timeout=START_TIMEOUT, request=request) as served:
        yield served.url


@dataclass
class Call:
    """One request of the burst."""

    kind: str
    method: str
    path: str
    token: dict[str, str] | None = None
    body: object | None = None


@dataclass
class Answer:
    status: int
    code: str | None  # of a problem+json answer
    body: Any = None


def fire(base: str, calls: list[Call]) -> list[Answer]:
    """Send every call at once, each from its own thread and connection; their answers."""
    barrier = threading.Barrier(len(calls))
    answers: list[Answer | None] = [None] * len(calls)

    def run(i: int) -> None:
        call = calls[i]
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client:
            barrier.wait(timeout=REQUEST_TIMEOUT)
            try:
                response = client.request(
                    call.method, API + call.path, headers=call.token, json=call.body
                )
            except httpx.TimeoutException as exc:  # counts as a failure, like a 5xx
                answers[i] = Answer(599, type(exc).__name__)
                return
        body: Any = response.json() if response.content else None
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        answers[i] = Answer(response.status_code, body.get("code") if problem else None, body)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    stop = time.monotonic() + 2 * REQUEST_TIMEOUT
    for thread in threads:
        thread.join(timeout=max(0.0, stop - time.monotonic()))
    missing = [c.kind for c, a in zip(calls, answers, strict=True) if a is None]
    assert not missing, f"no answer to {missing}"
    return [a for a in answers if a is not None]


def count(session: Session, model: type[Base], *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audited(session: Session, action: str, object_id: int | None = None, *, after: int = 0) -> int:
    """Audit events of the action (on the object), of those with an id above `after`."""
    where = [AuditEvent.action == action, AuditEvent.id > after]
    if object_id is not None:
        where.append(AuditEvent.object_id == object_id)
    return count(session, AuditEvent, *where)
