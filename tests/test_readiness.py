"""/healthz is liveness; /readyz and the match routes say 503 until the matcher can search.

No request waits for numba: while the kernels compile, match routes answer 503 problem+json
with Retry-After, and /readyz stays 503 until the kernels are ready and the index is loaded.
"""

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import get_session, get_session_factory
from app.main import create_app
from app.matching import kernels
from app.services import match_sync
from tests.factories import make_challenge, make_user
from tests.problems import assert_problem
from tests.servers import Server, serve


@pytest.fixture
def compiling(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """A process whose kernels are not compiled yet: compiling blocks until the event is set."""
    release = threading.Event()
    real_warm_up = kernels.warm_up

    def slow_warm_up() -> None:
        assert release.wait(20), "the test never released the compiler"
        real_warm_up()

    monkeypatch.setattr(kernels, "warm_up", slow_warm_up)
    monkeypatch.setattr(match_sync, "_kernels_ready", threading.Event())
    monkeypatch.setattr(match_sync, "_compile_started", False)
    yield release
    release.set()


def _wait_until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_match_routes_answer_503_while_the_kernels_compile(
    client: TestClient, session: Session, compiling: threading.Event
) -> None:
    challenge = make_challenge(session, owner=make_user(session))
    path = f"/api/v1/challenges/{challenge.id}/matches"

    response = client.get(path)  # the compiler is held: waiting for it would hang here
    assert_problem(response, 503, "matcher_starting")
    assert response.headers["Retry-After"] == "5"
    assert "启动" in response.json()["detail"]
    assert client.get("/healthz").status_code == 200  # alive all along
    assert_problem(client.get("/readyz"), 503, "matcher_starting")

    compiling.set()  # the background compile that the first request started now finishes
    _wait_until(match_sync.kernels_ready)
    assert client.get(path).status_code == 200
    assert client.get("/readyz").json() == {"status": "ok"}


def test_readyz_waits_for_the_index_when_the_warm_up_loads_it(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    challenge = make_challenge(session, owner=make_user(session))
    warm = get_settings().model_copy(update={"match_warmup": True})
    monkeypatch.setattr(match_sync, "get_settings", lambda: warm)

    response = client.get("/readyz")
    assert_problem(response, 503, "matcher_starting")
    assert "索引" in response.json()["detail"]

    assert client.get(f"/api/v1/challenges/{challenge.id}/matches").status_code == 200  # loads
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_while_the_database_is_unreachable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/missing/dir/jiebang.db")
    app = create_app()

    def unreachable() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    app.dependency_overrides[get_session] = unreachable
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 503


# Starts the real server with a compiler that waits for a file: the server must come up and
# answer /healthz, with its match routes and /readyz at 503, until the kernels are ready.
GATED_SERVER = """
import pathlib, sys, time
from app.matching import kernels
real, gate = kernels.warm_up, pathlib.Path(sys.argv[2])
def gated():
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    real()
kernels.warm_up = gated
import uvicorn
uvicorn.run("app.main:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _gated_server(gate: Path, port: int) -> list[str]:
    return [sys.executable, "-c", GATED_SERVER, str(port), str(gate)]


def test_a_real_server_serves_before_its_kernels_and_is_ready_after(
    live_database: str, tmp_path: Path
) -> None:
    kernels.warm_up()  # into numba's disk cache, so the server only loads them once released
    with get_session_factory().begin() as session:
        challenge_id = make_challenge(session, owner=make_user(session)).id
    gate = tmp_path / "compiled"
    env = {
        **os.environ,
        "DATABASE_URL": live_database,
        "MATCH_WARMUP": "1",
        "RATE_LIMITS": "off",
        "SECRET_KEY": get_settings().secret_key,
    }
    command = partial(_gated_server, gate)

    def answers(server: Server, path: str, status: int) -> bool:
        assert server.alive(), server.tail()
        try:
            return httpx.get(server.url + path, timeout=2).status_code == status
        except httpx.TransportError:
            return False

    # A loaded machine starts slowly; /healthz answers while the kernels wait for the gate.
    with serve(env, command, start_timeout=90) as server:
        match_path = f"{server.url}/api/v1/challenges/{challenge_id}/matches"
        not_ready = httpx.get(f"{server.url}/readyz", timeout=2)
        assert not_ready.status_code == 503
        assert not_ready.json()["code"] == "matcher_starting"
        early = httpx.get(match_path, timeout=2)
        assert early.status_code == 503
        assert early.headers["retry-after"] == "5"

        gate.touch()
        _wait_until(lambda: answers(server, "/readyz", 200), 60)
        assert httpx.get(match_path, timeout=2).status_code == 200
