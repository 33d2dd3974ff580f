"""/healthz is liveness; /readyz says 503 (problem+json, Retry-After) until the index is loaded.

With MATCH_WARMUP the index loads in the background at start: the server answers /healthz at
once, and /readyz once the index is loaded.
"""

import os
import sys
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
from app.services import match_sync
from tests.factories import make_challenge, make_user
from tests.problems import assert_problem
from tests.servers import Server, serve


def _wait_until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


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


# Starts the real server with an index load that waits for a file: the server must come up
# and answer /healthz, with /readyz at 503, until the index is loaded.
GATED_SERVER = """
import pathlib, sys, time
from app.services import match_sync
real, gate = match_sync.warm_up, pathlib.Path(sys.argv[2])
def gated(factory):
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    real(factory)
match_sync.warm_up = gated
import uvicorn
uvicorn.run("app.main:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _gated_server(gate: Path, port: int) -> list[str]:
    return [sys.executable, "-c", GATED_SERVER, str(port), str(gate)]


def test_a_real_server_is_alive_before_its_index_loads_and_ready_after(
    live_database: str, tmp_path: Path
) -> None:
    with get_session_factory().begin() as session:
        challenge_id = make_challenge(session, owner=make_user(session)).id
    gate = tmp_path / "loaded"
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

    with serve(env, command, start_timeout=90) as server:
        assert httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200
        not_ready = httpx.get(f"{server.url}/readyz", timeout=2)
        assert not_ready.status_code == 503
        assert not_ready.json()["code"] == "matcher_starting"
        assert not_ready.headers["retry-after"] == "5"

        gate.touch()
        _wait_until(lambda: answers(server, "/readyz", 200), 60)
        match_path = f"{server.url}/api/v1/challenges/{challenge_id}/matches"
        assert httpx.get(match_path, timeout=2).status_code == 200
