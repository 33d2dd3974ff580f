"""The real server, started as `make run` starts it: no banner, the headers, the body limit."""

import json
import os
import re
import shlex
import socket
import sys
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from app.db import make_engine, migrate
from app.models import Organization
from tests.databases import create_database
from tests.servers import serve

ROOT = Path(__file__).resolve().parents[1]
REGISTER = "/api/v1/organizations/register"
MIB = 1024 * 1024


def make_run_command(host: str, port: int) -> list[str]:
    """The uvicorn command of the Makefile's `run` target, for this host and port."""
    makefile = (ROOT / "Makefile").read_text()
    line = re.search(r"^\texec \$\(BIN\)/uvicorn (.+)$", makefile, re.MULTILINE)
    assert line, "the run target starts uvicorn"
    args = line.group(1).replace("$(HOST)", host).replace("$(PORT)", str(port))
    return [sys.executable, "-m", "uvicorn", *shlex.split(args)]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One committed database for this module's server (one server start: they are slow)."""
    url, drop = create_database(tmp_path_factory.mktemp("served"))
    try:  # a migration that fails leaves no database behind either
        migrate(url)
        yield url
    finally:
        drop()


@pytest.fixture(scope="module")
def server(database: str, request: pytest.FixtureRequest) -> Iterator[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "LOG_LEVEL": "WARNING",
        "MATCH_WARMUP": "0",
        "RATE_LIMITS": "off",
    }
    command = partial(make_run_command, "127.0.0.1")
    with serve(env, command, request=request) as served:
        yield served.url


def _organizations(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Organization)) or 0
    finally:
        engine.dispose()


def _registration(padding: int) -> bytes:
    tag = uuid.uuid4().hex[:8]
    body = {
        "organization": {"kind": "university", "name": f"辽西测试大学{tag}", "region": "211302"},
        "user": {
            "username": f"reg_{tag}",
            "password": f"Kq7!vT2m-{uuid.uuid4()}",
            "display_name": "张伟",
        },
    }
    return json.dumps(body).encode() + b" " * padding


def _chunked(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_dockerfile_serves_without_the_server_banner() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    commands = re.findall(r"uvicorn app\.main:app[^\"&]*", dockerfile)
    assert commands
    assert all("--no-server-header" in command for command in commands)


def test_served_answers_name_no_server_and_carry_the_security_headers(server: str) -> None:
    for path in ("/healthz", "/api/v1/challenges", "/nowhere", "/docs"):
        response = httpx.get(server + path, timeout=10)
        assert "server" not in response.headers, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_chunked_body_over_the_limit_is_refused_by_the_server(server: str, database: str) -> None:
    before = _organizations(database)
    response = httpx.post(
        server + REGISTER,
        content=_chunked(_registration(padding=2 * MIB)),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )

    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert _organizations(database) == before


def test_chunked_body_under_the_limit_is_served_whole(server: str, database: str) -> None:
    before = _organizations(database)
    response = httpx.post(
        server + REGISTER,
        content=_chunked(_registration(padding=MIB // 2)),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )

    assert response.status_code == 201, response.text[:300]
    assert _organizations(database) == before + 1


def test_declared_200_mb_body_is_refused_before_it_is_sent(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    head = (
        f"POST {REGISTER} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {200 * MIB}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head.encode())  # and not one byte of the body
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(65536)
            assert chunk, answer
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"application/problem+json" in answer
