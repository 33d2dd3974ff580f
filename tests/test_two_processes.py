"""Two real API processes on one database: a write through one shows in the other's matches."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from app.db import get_session_factory
from app.matching import kernels
from app.models import OrganizationKind
from tests.factories import headers, make_capability, make_challenge, make_user

ROOT = Path(__file__).resolve().parents[1]
PBN = "大尺寸晶体生长用热解氮化硼坩埚的研制，化学气相沉积工艺优化"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def two_servers(live_database: str) -> Iterator[tuple[str, str]]:
    kernels.warm_up()  # compiled into numba's disk cache here, so the servers only load them
    env = {**os.environ, "DATABASE_URL": live_database, "LOG_LEVEL": "WARNING"}
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 90  # two imports at once on a loaded 2-core machine
        for url, proc in zip(urls, procs, strict=True):
            while True:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield urls[0], urls[1]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def test_a_write_through_one_process_shows_in_the_others_matches(
    two_servers: tuple[str, str],
) -> None:
    writer, reader = two_servers
    with get_session_factory().begin() as session:
        owner = make_user(session)
        uni = make_user(session, kind=OrganizationKind.university)
        challenge = make_challenge(session, owner=owner, title="热解氮化硼坩埚", description=PBN)
        make_capability(session, owner=uni, title="洁净钢团队", description="夹杂物控制")
        challenge_id, uni_headers = challenge.id, headers(uni)
    path = f"/api/v1/challenges/{challenge_id}/matches?target=capabilities"

    def reader_ids() -> list[int]:
        response = httpx.get(reader + path, timeout=10)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert reader_ids() == []  # the reader has loaded its index before the write

    created = httpx.post(
        writer + "/api/v1/capabilities",
        json={"title": "化学气相沉积平台", "description": PBN, "tags": ["热解氮化硼坩埚"]},
        headers=uni_headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    written = time.monotonic()
    assert reader_ids()[:1] == [new_id]
    assert time.monotonic() - written < 1.0

    deleted = httpx.delete(f"{writer}/api/v1/capabilities/{new_id}", headers=uni_headers)
    assert deleted.status_code == 204
    assert new_id not in reader_ids()
