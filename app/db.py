"""Declarative base, engine, session factory and the per-request session."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy import DateTime, Dialect, MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.config import get_settings

if TYPE_CHECKING:
    from alembic.config import Config

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every database (SQLite stores no zone: we keep UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The clock every time-based rule reads (tests move it by replacing this function)."""
    return datetime.now(UTC)


def column_now() -> datetime:
    """`utcnow` looked up at each call: a column default that follows a moved clock."""
    return utcnow()


# The programme's local time, for dates people read (due dates, working days): China has
# one zone and no daylight saving, so a fixed offset is exact and needs no tz database.
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


# Execution option of an engine or connection whose transactions only read. On SQLite they
# begin deferred and take no lock; every other transaction begins IMMEDIATE. PostgreSQL
# ignores it.
READS_ONLY = "reads_only"
# Requests with these methods only read: they get a session that begins deferred.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def configure_sqlite(engine: Engine) -> None:
    """Foreign keys, WAL, and transactions opened by SQLAlchemy rather than pysqlite, so that
    SAVEPOINTs work as documented (SQLAlchemy's "serializable isolation / savepoints" recipe).
    Also for the sync engine behind an async one."""

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the write lock:
        # SQLite does not run its busy handler for that upgrade and fails at once ("database
        # is locked"). So a transaction takes the lock when it begins, waiting up to the busy
        # timeout, unless its connection says it only reads.
        reads_only = connection.get_execution_options().get(READS_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the per-dialect settings this app relies on."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("connect_args", postgres_connect_args())
    # Sync routes and dependencies run in anyio's thread pool (THREADS at once), and a thread
    # uses at most one connection at a time: POOL_SIZE + MAX_OVERFLOW = THREADS connections,
    # so a request's thread normally finds one free. A request also keeps its connection
    # between stages (dependency, route, commit) while it waits for a thread; under overload
    # every thread can be waiting for a connection held by requests that wait for a thread.
    # POOL_TIMEOUT ends that wait quickly with a 503 (Retry-After) instead of a 30 s stall.
    # Ten stay open; the rest close when returned. Per worker process: two workers use at
    # most 80 of PostgreSQL's default max_connections = 100.
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", THREADS - POOL_SIZE)
    kwargs.setdefault("pool_timeout", POOL_TIMEOUT)
    return create_engine(url, **kwargs)


# anyio's default thread limiter (40 tokens), which Starlette uses for sync endpoints.
THREADS = 40
POOL_SIZE = 10
POOL_TIMEOUT = 2.0


def postgres_connect_args() -> dict[str, Any]:
    """psycopg options: lock, statement and connect timeouts from the settings; no JIT."""
    settings = get_settings()
    options: dict[str, int | str] = {
        "lock_timeout": round(settings.db_lock_timeout * 1000),
        "statement_timeout": round(settings.db_statement_timeout * 1000),
        # The service's queries are short; their estimated costs are not (the search
        # function's COST 5000 counts again in every recheck), so PostgreSQL's JIT compiled
        # them: 35 ms for a count of a search term's hits, 0.7 s for a common term, more than
        # the queries themselves (docs/performance.md, "Volume").
        "jit": "off",
    }
    return {
        "connect_timeout": settings.db_connect_timeout,
        "options": " ".join(f"-c {name}={value}" for name, value in options.items()),
    }


def migrate(url: str, revision: str = "head") -> None:
    """`alembic upgrade` on this database, in one transaction (tests and benchmarks)."""
    from alembic import command

    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    engine.dispose()


def alembic_config(connection: Connection) -> "Config":
    """The project's Alembic configuration, bound to an open connection."""
    from alembic.config import Config

    config = Config(str(Path(__file__).resolve().parents[1] / "alembic.ini"))
    config.attributes["configure_logger"] = False
    config.attributes["connection"] = connection
    return config


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_session_factory() -> sessionmaker[Session]:
    """Sessions for transactions that may write (on SQLite: `BEGIN IMMEDIATE`)."""
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def get_read_session_factory() -> sessionmaker[Session]:
    """Sessions for transactions that only read (on SQLite: a deferred `BEGIN`, no lock)."""
    return _read_session_factory(get_engine())


@lru_cache(maxsize=4)
def _read_session_factory(engine: Engine) -> sessionmaker[Session]:
    # Keyed by the engine, so a new engine (tests clear get_engine) gets a new factory. The
    # option engine shares the engine's pool.
    reader = engine.execution_options(**{READS_ONLY: True})
    return sessionmaker(bind=reader, expire_on_commit=False)


def reads_only(request: Request) -> None:
    """A route dependency: this request only reads, whatever its method (sign-in, previews).

    Listed in the route's `dependencies=`, which FastAPI solves before the route's parameters,
    so `get_session` sees the mark: on SQLite the request then holds no write lock while it
    hashes a password or segments text.
    """
    request.state.reads_only = True


def only_reads(request: Request) -> bool:
    """Whether this request writes nothing: a GET, HEAD or OPTIONS, or a route marked so."""
    return request.method in READ_METHODS or getattr(request.state, "reads_only", False)


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit when the route returns, roll back on any error.

    Routes declare it with `scope="function"` so the commit finishes before the response is
    sent: a failed commit becomes an error response, never a silent loss. GET, HEAD and
    OPTIONS only read: their transaction begins deferred; every other method's may write and
    begins IMMEDIATE on SQLite, so concurrent writers wait their turn instead of failing.
    """
    factory = get_read_session_factory() if only_reads(request) else get_session_factory()
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
