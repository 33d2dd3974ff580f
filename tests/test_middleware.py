"""Security headers on every answer, and the 1 MiB cap on request bodies (in-process)."""

import asyncio
import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.types import Message

from app.config import get_settings
from app.main import create_app
from app.middleware import API_CSP, BodySizeLimitMiddleware
from app.models import Organization
from tests.factories import PASSWORD, make_user

REGISTER = "/api/v1/organizations/register"
MIB = 1024 * 1024


def registration(padding: int = 0) -> bytes:
    """A valid registration body, padded with JSON whitespace to a chosen size."""
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


def padded_to(size: int) -> bytes:
    body = registration()
    return body + b" " * (size - len(body))


def _organizations(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Organization)) or 0


# --- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/api/v1/challenges", "/nowhere"])
def test_every_answer_has_nosniff_no_referrer_and_a_strict_policy(
    client: TestClient, path: str
) -> None:
    response = client.get(path)

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == API_CSP


def test_token_answer_is_not_stored(client: TestClient, session: Session) -> None:
    user = make_user(session)

    response = client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


def test_api_answers_are_not_stored_but_docs_assets_may_be(client: TestClient) -> None:
    assert client.get("/api/v1/challenges").headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/docs-assets/swagger-ui.css").headers


def _inline_script_hashes(html: str) -> set[str]:
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    }


@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect"])
def test_docs_pages_may_run_exactly_their_own_inline_scripts(client: TestClient, path: str) -> None:
    response = client.get(path)

    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    hashes = _inline_script_hashes(response.text)
    assert hashes
    assert set(policy["script-src"].split()) == {"'self'", *hashes}
    assert "unsafe" not in response.headers["content-security-policy"]
    assert policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'"  # "Try it out" calls the API itself


def test_docs_page_loads_only_its_own_assets(client: TestClient) -> None:
    html = client.get("/docs").text

    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls
    for url in urls:
        assert url.startswith("/docs-assets/"), url
        assert client.get(url).status_code == 200


# --- body size ----------------------------------------------------------------------------


def test_declared_body_over_the_limit_is_413_and_not_parsed(
    client: TestClient, session: Session
) -> None:
    before = _organizations(session)

    response = client.post(
        REGISTER,
        content=registration(padding=MIB),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "payload_too_large"
    assert problem["detail"] == "请求体超过 1 MiB 的上限"
    assert _organizations(session) == before


def test_body_of_exactly_the_limit_is_served(client: TestClient) -> None:
    response = client.post(
        REGISTER, content=padded_to(MIB), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 201, response.text[:300]


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_chunked_body_over_the_limit_is_413(client: TestClient, session: Session) -> None:
    before = _organizations(session)

    response = client.post(
        REGISTER,
        content=_chunks(registration(padding=MIB)),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert _organizations(session) == before


def test_chunked_body_under_the_limit_is_served(client: TestClient) -> None:
    response = client.post(
        REGISTER,
        content=_chunks(registration(padding=200_000)),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 201, response.text[:300]


def test_limit_is_the_max_body_bytes_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    get_settings.cache_clear()
    try:
        app = create_app()
    finally:
        get_settings.cache_clear()
    with TestClient(app) as small:
        response = small.post(REGISTER, content=b" " * 2049)

    assert response.status_code == 413
    assert response.json()["detail"] == "请求体超过 2 KiB 的上限"


# --- the middleware on its own: what it reads, and what the app receives ------------------


def _run(middleware: BodySizeLimitMiddleware, messages: list[Message]) -> tuple[list[Message], int]:
    """What the middleware sent, and how many of the client's messages it read."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"transfer-encoding", b"chunked")],
    }
    incoming = iter(messages)
    sent: list[Message] = []
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return next(incoming)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent, read


def test_chunked_body_is_cut_off_at_the_limit_before_the_app_runs() -> None:
    called = False

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal called
        called = True

    chunks = [{"type": "http.request", "body": b"x" * 1000, "more_body": True}] * 100
    sent, read = _run(BodySizeLimitMiddleware(app, max_bytes=10_000), chunks)

    assert not called
    assert read == 11  # stopped at the first chunk past the limit
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["code"] == "payload_too_large"


def test_chunked_body_under_the_limit_reaches_the_app_whole() -> None:
    seen: list[Message] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    chunks: list[Message] = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
    ]
    sent, _ = _run(BodySizeLimitMiddleware(app, max_bytes=4), chunks)

    assert seen == [{"type": "http.request", "body": b"abcd", "more_body": False}]
    assert sent[0]["status"] == 204
