"""The real per-request session: commits before the response, rolls back on any error."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.db import get_session_factory
from app.deps import SessionDep
from app.errors import Conflict
from app.main import create_app
from app.models import Organization, OrganizationKind, User


@pytest.fixture
def live_client(live_database: str) -> Iterator[TestClient]:
    app = create_app()

    @app.post("/test/write-then-fail")
    def write_then_fail(session: SessionDep) -> None:
        session.add(
            Organization(kind=OrganizationKind.university, name="回滚大学", region="211302")
        )
        session.flush()
        raise Conflict("after a flush")

    @app.post("/test/commit-fails")
    def commit_fails(session: SessionDep) -> dict[str, str]:
        # A user of a missing organisation: the foreign key fails only at commit.
        session.add(
            User(
                organization_id=999_999,
                username="ghost",
                display_name="幽灵",
                password_hash="x",
                role="university",
            )
        )
        return {"status": "ok"}

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _count(model: type[Organization] | type[User]) -> int:
    with get_session_factory()() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


REGISTRATION = {
    "organization": {"kind": "university", "name": "提交大学", "region": "211302"},
    "user": {"username": "committer", "password": "long-enough-pw", "display_name": "提交者"},
}


def test_successful_request_is_committed(live_client: TestClient) -> None:
    response = live_client.post("/api/v1/organizations/register", json=REGISTRATION)
    assert response.status_code == 201
    assert _count(Organization) == 1
    assert _count(User) == 1


def test_error_after_a_flush_rolls_everything_back(live_client: TestClient) -> None:
    response = live_client.post("/test/write-then-fail")
    assert response.status_code == 409
    assert _count(Organization) == 0


def test_failed_commit_is_an_error_response_not_a_silent_loss(live_client: TestClient) -> None:
    response = live_client.post("/test/commit-fails")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _count(User) == 0


def test_healthz_answers_once_the_database_is_reachable(live_client: TestClient) -> None:
    assert live_client.get("/healthz").json() == {"status": "ok"}
