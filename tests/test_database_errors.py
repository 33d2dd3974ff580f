"""Database trouble a client can meet is a mapped problem, never a 500 (any database)."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

import app.db
from app.db import get_session_factory, make_engine
from app.deps import SessionDep
from app.main import create_app
from app.models import Organization, OrganizationKind


def test_no_free_connection_answers_503_with_retry_after(
    live_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One connection, held here: the request's checkout times out (sqlalchemy's TimeoutError).
    tiny = make_engine(live_database, pool_size=1, max_overflow=0, pool_timeout=0.1)
    monkeypatch.setattr(app.db, "get_engine", lambda: tiny)
    get_session_factory.cache_clear()
    try:
        with tiny.connect(), TestClient(create_app(), raise_server_exceptions=False) as client:
            response = client.get("/api/v1/capabilities")
    finally:
        get_session_factory.cache_clear()
        tiny.dispose()

    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "database_busy"
    assert int(response.headers["retry-after"]) >= 1


@pytest.fixture
def stale_app(live_database: str) -> FastAPI:
    """The app plus a route whose row is deleted behind the session's back, then used."""
    application = create_app()

    @application.post("/test/stale/{how}")
    def stale(session: SessionDep, how: str) -> None:
        org = Organization(kind=OrganizationKind.university, name="消失大学", region="211302")
        session.add(org)
        session.flush()
        session.execute(text("DELETE FROM organization WHERE id = :id"), {"id": org.id})
        if how == "update":
            org.name = "改名大学"
            session.flush()  # UPDATE matches no row: StaleDataError
        else:
            session.expire(org)
            _ = org.name  # the reload finds no row: ObjectDeletedError

    return application


@pytest.mark.parametrize("how", ["update", "reload"])
def test_a_row_gone_under_a_write_is_a_409_not_a_500(stale_app: FastAPI, how: str) -> None:
    with TestClient(stale_app, raise_server_exceptions=False) as client:
        response = client.post(f"/test/stale/{how}")

    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "conflict"
