"""Assertions on problem-details answers, shared by the API tests."""

from collections.abc import Mapping
from typing import Any, Protocol

from app.models import User
from tests.factories import headers


class Response(Protocol):
    """What the tests read of a TestClient answer (httpx or httpx2, whichever it runs on)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


def auth(user: User | None) -> dict[str, str]:
    """The Authorization header for a user; none for anonymous."""
    return headers(user) if user is not None else {}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 answer with this status and machine code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["code"] == code, problem
    assert problem["title"]
    assert problem["detail"]
    return problem
