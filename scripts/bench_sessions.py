"""Sync against async SQLAlchemy sessions, served by uvicorn (uvloop + httptools), under wrk.

The same list query (20 published challenges, newest first, with the total) is served four ways
by one process, so every figure comes from the same server, database and run:

- ``sync``: the real ``GET /api/v1/challenges?limit=20`` of ``app.main:app`` (``def`` route,
  sync ``Session``, dependencies and route in the thread pool);
- ``async``: an ``async def`` route with an ``AsyncSession`` running the same statements;
- ``async_run_sync``: an ``async def`` route calling the app's sync service code through
  ``AsyncSession.run_sync`` (how the existing services would run without a rewrite);
- ``bare``: the same response model from memory, no database (the serving ceiling).

Each is loaded for SQLite (a temporary file) and PostgreSQL (a throwaway database created from
``--postgres-url`` and dropped afterwards), with 1 and 2 uvicorn workers. The schema is built by
``alembic upgrade head``. Progress goes to stderr; the table of figures to stdout.

Needs wrk on PATH, and for the async routes SQLAlchemy's asyncio extra (greenlet) and, for
SQLite, aiosqlite: neither is in requirements.lock (``pip install greenlet aiosqlite``).
"""

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fastapi import Depends, FastAPI, Query  # noqa: E402
from sqlalchemy import func, make_url, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = "bench_sessions"
ROUTES = {
    "sync": "/api/v1/challenges?limit=20",
    "async": "/bench/async/challenges?limit=20",
    "async_run_sync": "/bench/async-run-sync/challenges?limit=20",
    "bare": "/bench/bare?limit=20",
}
ASYNC_URL_ENV = "BENCH_ASYNC_DATABASE_URL"


# --- the app under test (imported by uvicorn's workers through create_bench_app) -------------


def _async_engine(url: str) -> "AsyncEngine":
    """An async engine with the same per-dialect settings as app.db.make_engine."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db import READS_ONLY, configure_sqlite

    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_pre_ping=True)
    # Its routes only read, like the app's GET sessions: a deferred BEGIN, no write lock.
    engine = create_async_engine(
        url, connect_args={"timeout": 30}, execution_options={READS_ONLY: True}
    )
    configure_sqlite(engine.sync_engine)
    return engine


def create_bench_app() -> FastAPI:
    """The real app plus the async and bare variants of its challenge list."""
    from app.main import create_app
    from app.schemas.challenge import ChallengeRead
    from app.schemas.common import Page
    from app.services import challenges
    from app.services.pagination import paginate

    app = create_app()
    if not os.environ.get(ASYNC_URL_ENV):
        return app  # sync route only: no async driver needed
    # Imported here: SQLAlchemy's asyncio module refuses to import without greenlet.
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    factory = async_sessionmaker(_async_engine(os.environ[ASYNC_URL_ENV]), expire_on_commit=False)

    async def async_session() -> AsyncIterator[AsyncSession]:
        async with factory() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    AsyncSessionDep = Annotated[AsyncSession, Depends(async_session, scope="function")]
    # Plain parameters, not the app's Paging class: a sync dependency would hop to a thread.
    Limit = Annotated[int, Query(ge=1, le=100)]
    Offset = Annotated[int, Query(ge=0, le=1_000_000)]

    @app.get("/bench/async/challenges")
    async def async_challenges(
        session: AsyncSessionDep, limit: Limit = 20, offset: Offset = 0
    ) -> Page[ChallengeRead]:
        """The statements of the sync route for an anonymous viewer, awaited."""
        stmt = challenges.challenges_query(None)
        total = await session.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery())
        )
        items = (await session.scalars(stmt.limit(limit).offset(offset))).all()
        return Page[ChallengeRead](
            items=[ChallengeRead.model_validate(i) for i in items],
            total=total or 0,
            limit=limit,
            offset=offset,
        )

    @app.get("/bench/async-run-sync/challenges")
    async def async_run_sync_challenges(
        session: AsyncSessionDep, limit: Limit = 20, offset: Offset = 0
    ) -> Page[ChallengeRead]:
        """The app's own sync service code, run inside the AsyncSession's greenlet."""

        def work(sync_session: Session) -> Page[ChallengeRead]:
            stmt = challenges.challenges_query(None)
            items, total = paginate(sync_session, stmt, limit=limit, offset=offset)
            return Page[ChallengeRead](
                items=[ChallengeRead.model_validate(i) for i in items],
                total=total,
                limit=limit,
                offset=offset,
            )

        return await session.run_sync(work)

    cached: list[Page[ChallengeRead]] = []

    @app.get("/bench/bare")
    async def bare(limit: Limit = 20, offset: Offset = 0) -> Page[ChallengeRead]:
        """The same response model from memory (filled once from the database)."""
        if not cached:
            async with factory() as session:
                cached.append(await async_challenges(session, limit, offset))
        return cached[0]

    return app


# --- database set-up ---------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


DESCRIPTION = (
    "现有热解氮化硼坩埚纯度不足，高温下析出杂质，影响半导体单晶生长良率。"
    "希望通过化学气相沉积工艺优化，提高致密度与纯度，延长使用寿命，"
    "并形成可量产的工艺包和质量检测规范。"
) * 4


def seed(url: str, count: int) -> None:
    """One verified enterprise and `count` published challenges that stay open for a year."""
    from app.db import make_engine, utcnow
    from app.models import (
        Challenge,
        ChallengeStatus,
        Organization,
        OrganizationKind,
        OrganizationStatus,
        Role,
        Sector,
        User,
    )

    engine = make_engine(url)
    now = utcnow()
    with Session(engine) as session, session.begin():
        org = Organization(
            kind=OrganizationKind.enterprise,
            name="基准测试企业",
            region="211302",
            status=OrganizationStatus.verified,
        )
        user = User(
            organization=org,
            username="bench",
            display_name="基准",
            password_hash="not-a-real-hash",  # nobody signs in: the routes are anonymous
            role=Role.enterprise,
        )
        session.add_all([org, user])
        session.flush()
        sectors = list(Sector)
        session.add_all(
            Challenge(
                organization_id=org.id,
                created_by_id=user.id,
                title=f"高纯热解氮化硼坩埚制备工艺 {n}",
                description=DESCRIPTION,
                indicators=[
                    {"name": "纯度", "target": "≥99.99", "unit": "%"},
                    {"name": "使用寿命", "target": "≥50", "unit": "炉次"},
                ],
                expected_outcome="形成可量产的工艺包",
                sector=sectors[n % len(sectors)],
                tags=["热解氮化硼", "半导体材料"],
                budget=Decimal("300.00"),
                deadline=now + timedelta(days=365),
                region="211302",
                contact="李工 0421-0000000",
                status=ChallengeStatus.published,
                published_at=now,
            )
            for n in range(count)
        )
    engine.dispose()


@contextmanager
def sqlite_database(tmp: Path) -> Iterator[tuple[str, str]]:
    path = tmp / "bench.db"
    yield f"sqlite:///{path}", f"sqlite+aiosqlite:///{path}"


@contextmanager
def postgres_database(base_url: str) -> Iterator[tuple[str, str]]:
    """A throwaway database beside `base_url`, dropped on the way out."""
    from app.db import make_engine

    admin = make_engine(base_url, isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    with admin.connect() as conn:
        conn.execute(drop)
        conn.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    url = make_url(base_url).set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    try:
        yield url, url
    finally:
        with admin.connect() as conn:
            conn.execute(drop)
        admin.dispose()
        log(f"dropped database {BENCH_DATABASE}")


# --- serving and loading ----------------------------------------------------------------------


@contextmanager
def serve(
    sync_url: str, async_url: str, *, workers: int, port: int, log_path: Path
) -> Iterator[str]:
    """uvicorn --loop uvloop --http httptools on 127.0.0.1, stopped on the way out."""
    env = dict(os.environ, DATABASE_URL=sync_url, LOG_LEVEL="WARNING", DEMO="false")
    if async_url:
        env[ASYNC_URL_ENV] = async_url
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), str(ROOT / "scripts"), os.environ.get("PYTHONPATH")) if p
    )
    cmd = [
        sys.executable, "-m", "uvicorn", "bench_sessions:create_bench_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace").splitlines()[-30:]
                raise RuntimeError(f"uvicorn exited with {proc.returncode}:\n" + "\n".join(tail))
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not answer on /healthz within 60 s")
            time.sleep(0.3)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # our own session: uvicorn and its workers
            proc.wait()


def fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response.status}")
        return json.load(response)


def check_same_answers(base: str, routes: list[str]) -> None:
    """Every variant must return the same 20 challenges and total, byte for byte as JSON."""
    answers = {name: fetch_json(base + ROUTES[name]) for name in routes}
    first_name, first = next(iter(answers.items()))
    if len(first["items"]) != 20:
        raise RuntimeError(f"{first_name} returned {len(first['items'])} items, not 20")
    for name, answer in answers.items():
        if answer != first:
            raise RuntimeError(f"{name} answers differently from {first_name}")


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not match:
        raise ValueError(f"cannot read wrk latency {value!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


@dataclass
class Figure:
    database: str
    workers: int
    route: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    load_1min: float  # the machine's load average after the run: other work skews figures


def run_wrk(url: str, *, threads: int, connections: int, duration: int) -> dict[str, Any]:
    cmd = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
        "--latency", url,
    ]  # fmt: skip
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=duration + 30
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx[1]) if non_2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {
        "requests_per_s": float(rps[1]),
        "p50_ms": _ms(p50[1]),
        "p99_ms": _ms(p99[1]),
        "requests": int(total[1]),
        "errors": errors,
    }


def bench_database(
    name: str, sync_url: str, async_url: str, args: argparse.Namespace, tmp: Path
) -> list[Figure]:
    from app.db import migrate

    log(f"{name}: alembic upgrade head, then {args.challenges} published challenges")
    migrate(sync_url)
    seed(sync_url, args.challenges)
    figures = []
    for workers in args.workers:
        routes = [r for r in args.routes if r != "bare" or name == args.bare_on]
        if not routes:
            continue
        log(f"{name}: uvicorn, {workers} worker(s)")
        needs_async = routes != ["sync"]
        with serve(
            sync_url,
            async_url if needs_async else "",
            workers=workers,
            port=args.port,
            log_path=tmp / "uvicorn.log",
        ) as base:
            check_same_answers(base, routes)
            for route in routes:
                url = base + ROUTES[route]
                run_wrk(url, threads=args.threads, connections=args.connections, duration=2)
                result = run_wrk(
                    url,
                    threads=args.threads,
                    connections=args.connections,
                    duration=args.duration,
                )
                figure = Figure(
                    database=name,
                    workers=workers,
                    route=route,
                    load_1min=round(os.getloadavg()[0], 2),
                    **result,
                )
                log(
                    f"  {route:15} {figure.requests_per_s:8.0f} req/s  "
                    f"p50 {figure.p50_ms:7.2f} ms  p99 {figure.p99_ms:7.2f} ms  "
                    f"errors {figure.errors}"
                )
                figures.append(figure)
    return figures


def environment(postgres_url: str | None) -> dict[str, str]:
    versions = {}
    for package in (
        "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "pydantic", "sqlalchemy",
        "psycopg", "greenlet", "aiosqlite", "anyio",
    ):  # fmt: skip
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    info = {
        "python": platform.python_version(),
        "cpus": str(os.cpu_count()),
        "machine": platform.machine(),
        "wrk": ((wrk.stdout + wrk.stderr).split() or ["", "?"])[1],
        **versions,
    }
    if postgres_url:
        from app.db import make_engine

        engine = make_engine(postgres_url)
        with engine.connect() as conn:
            info["postgresql"] = str(conn.scalar(text("SHOW server_version")))
        engine.dispose()
    return info


def markdown(figures: list[Figure], env: dict[str, str], args: argparse.Namespace) -> str:
    lines = [
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, "
        "127.0.0.1, after a 2 s warm-up; " + ", ".join(f"{k} {v}" for k, v in env.items()),
        "",
        "| database | workers | route | req/s | p50 ms | p99 ms | requests | errors | load |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {f.database} | {f.workers} | {f.route} | {f.requests_per_s:,.0f} | "
        f"{f.p50_ms:.2f} | {f.p99_ms:.2f} | {f.requests:,} | {f.errors} | {f.load_1min:.1f} |"
        for f in figures
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Routes: " + ", ".join(f"{k} = {v}" for k, v in ROUTES.items()),
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help=f"an existing PostgreSQL database to connect through; a throwaway database "
        f"{BENCH_DATABASE!r} is created beside it and dropped (default: %(default)s)",
    )
    parser.add_argument("--databases", default="sqlite,postgresql", help="default: %(default)s")
    parser.add_argument(
        "--routes", default="sync,async,async_run_sync,bare", help="default: %(default)s"
    )
    parser.add_argument(
        "--bare-on", default="postgresql", help="database whose run also loads the bare route"
    )
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts (default: 1,2)")
    parser.add_argument("--challenges", type=int, default=200)
    parser.add_argument("--duration", type=int, default=10, help="seconds a wrk run (10)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    args = parser.parse_args(argv)
    args.databases = [d for d in args.databases.split(",") if d]
    args.routes = [r for r in args.routes.split(",") if r]
    args.workers = [int(w) for w in args.workers.split(",") if w]
    unknown = set(args.routes) - set(ROUTES) or set(args.databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    return args


def require_async_drivers(args: argparse.Namespace) -> None:
    """Fail before any set-up when an async route is asked for and its drivers are missing."""
    if not {"async", "async_run_sync", "bare"} & set(args.routes):
        return
    needed = ["greenlet"] + (["aiosqlite"] if "sqlite" in args.databases else [])
    missing = []
    for module in needed:
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        sys.exit(
            f"bench_sessions: the async routes need {' and '.join(missing)}: "
            f"pip install {' '.join(missing)} (or --routes sync)"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_async_drivers(args)
    started = time.monotonic()
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {load:.1f} before the run; other work will skew the figures")
    figures: list[Figure] = []
    use_pg = "postgresql" in args.databases
    env = environment(args.postgres_url if use_pg else None)
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as tmp_name:
        tmp = Path(tmp_name)
        if "sqlite" in args.databases:
            with sqlite_database(tmp) as (sync_url, async_url):
                figures += bench_database("sqlite", sync_url, async_url, args, tmp)
        if use_pg:
            with postgres_database(args.postgres_url) as (sync_url, async_url):
                figures += bench_database("postgresql", sync_url, async_url, args, tmp)
    log(f"done in {time.monotonic() - started:.0f} s")
    if args.format == "json":
        payload = {"environment": env, "figures": [asdict(f) for f in figures]}
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(markdown(figures, env, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
