"""The deadline closes a challenge without any read writing; the job stores it once.

A published challenge past its deadline reads as closed everywhere (detail, list filters,
decisions, matches); the stored row follows only in a write that locks the challenge, or in
`python -m app.jobs close-expired`, audited once as the system. The deadline is read from the
clock `app.db.utcnow`, which these tests move instead of waiting. Everything here goes through
the real per-request session (`live_database`), committing for real.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session

from app import db, jobs
from app.db import get_engine, get_session_factory
from app.main import create_app
from app.models import (
    AuditEvent,
    BidStatus,
    Challenge,
    ChallengeStatus,
    OrganizationKind,
    User,
)
from app.models.challenge import DEADLINE_PASSED
from tests.factories import headers, make_bid, make_capability, make_challenge, make_user

API = "/api/v1"
PBN = "大尺寸晶体生长用热解氮化硼坩埚的研制，化学气相沉积工艺优化，纯度不足导致开裂"
WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def client(live_database: str) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Moves the clock two days ahead: challenges due tomorrow are past their deadline."""
    moved = db.utcnow() + timedelta(days=2)
    monkeypatch.setattr(db, "utcnow", lambda: moved)
    return moved


@pytest.fixture
def statements(live_database: str) -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends from now on."""
    sent: list[str] = []

    def record(_conn: Connection, _cursor: Any, sql: str, *_args: Any) -> None:
        sent.append(sql)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


class World:
    def __init__(self, session: Session) -> None:
        self.owner = make_user(session)
        self.bidder = make_user(session, kind=OrganizationKind.university)
        self.staff = make_user(session, kind=OrganizationKind.bureau)
        # Due tomorrow: open now, past its deadline once the clock moves.
        self.challenge = make_challenge(
            session, owner=self.owner, title="热解氮化硼坩埚", description=PBN, deadline_days=1
        )
        self.bid = make_bid(
            session, challenge=self.challenge, bidder=self.bidder, status=BidStatus.nominated
        )
        self.capability = make_capability(
            session, owner=self.bidder, title="化学气相沉积平台", description=PBN
        )


@pytest.fixture
def world(live_database: str) -> World:
    with get_session_factory().begin() as session:
        return World(session)


def stored(challenge_id: int) -> tuple[ChallengeStatus, list[AuditEvent]]:
    with get_session_factory()() as session:
        challenge = session.get(Challenge, challenge_id)
        assert challenge is not None
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "challenge", AuditEvent.object_id == challenge_id)
            .order_by(AuditEvent.id)
        ).all()
        return challenge.status, list(events)


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_reads_past_the_deadline_show_closed_and_write_nothing(
    client: TestClient, world: World, statements: list[str]
) -> None:
    path = f"{API}/challenges/{world.challenge.id}"
    capability_matches = f"{API}/capabilities/{world.capability.id}/matches"
    assert client.get(path).json()["status"] == "published"
    assert ids(client.get(capability_matches)) == [world.challenge.id]

    with pytest.MonkeyPatch.context() as patch:
        moved = db.utcnow() + timedelta(days=2)
        patch.setattr(db, "utcnow", lambda: moved)
        statements.clear()

        for viewer in (None, world.owner, world.bidder, world.staff):
            r = client.get(path, headers=headers(viewer) if viewer else {})
            assert r.status_code == 200, r.text
            assert (r.json()["status"], r.json()["status_reason"]) == ("closed", DEADLINE_PASSED)
        assert ids(client.get(f"{API}/challenges", params={"status": "closed"})) == [
            world.challenge.id
        ]
        assert ids(client.get(f"{API}/challenges", params={"status": "published"})) == []
        owner = headers(world.owner)
        assert ids(client.get(f"{path}/bids", headers=owner)) == [world.bid.id]
        assert client.get(f"{API}/bids/{world.bid.id}", headers=owner).status_code == 200
        assert ids(client.get(f"{path}/matches?target=capabilities")) == [world.capability.id]
        # The matcher hides it from researchers, by the same clock.
        assert ids(client.get(capability_matches)) == []

        writes = [s for s in statements if s.lstrip().upper().startswith(WRITES)]
        assert writes == []
        assert stored(world.challenge.id) == (ChallengeStatus.published, [])


def test_the_closing_job_closes_once_and_a_second_run_does_nothing(
    client: TestClient, world: World, later: datetime
) -> None:
    fresh = client.get(f"{API}/challenges/{world.challenge.id}").json()

    assert jobs.close_expired() == [world.challenge.id]
    assert jobs.close_expired() == []
    jobs.main(["close-expired"])  # the command line, once more: still nothing to do

    status, events = stored(world.challenge.id)
    assert status is ChallengeStatus.closed
    (event,) = events
    assert (event.action, event.actor_id, event.reason) == (
        "challenge.close",
        None,
        DEADLINE_PASSED,
    )
    assert (event.before, event.after) == ({"status": "published"}, {"status": "closed"})
    # Readers see no difference between the derived and the stored close.
    after = client.get(f"{API}/challenges/{world.challenge.id}").json()
    assert {k: after[k] for k in ("status", "status_reason")} == {
        k: fresh[k] for k in ("status", "status_reason")
    }


def test_a_write_that_locks_the_challenge_stores_the_close_first(
    client: TestClient, world: World, later: datetime
) -> None:
    r = client.post(f"{API}/bids/{world.bid.id}/award", headers=headers(world.staff))
    assert r.status_code == 200, r.text

    status, events = stored(world.challenge.id)
    assert status is ChallengeStatus.awarded
    assert [(e.action, e.actor_id, e.before, e.after) for e in events] == [
        ("challenge.close", None, {"status": "published"}, {"status": "closed"}),
        ("challenge.award", world.staff.id, {"status": "closed"}, {"status": "awarded"}),
    ]
    assert jobs.close_expired() == []


def test_a_refused_write_past_the_deadline_stores_nothing(
    client: TestClient, world: World, later: datetime
) -> None:
    rival = make_rival(world)
    r = client.post(
        f"{API}/challenges/{world.challenge.id}/bids",
        headers=headers(rival),
        json={"approach": "沉积", "team": "李教授团队", "budget": "50", "duration_months": 6},
    )
    assert (r.status_code, r.json()["code"]) == (409, "bidding_closed")
    r = client.post(f"{API}/challenges/{world.challenge.id}/close", headers=headers(world.owner))
    assert (r.status_code, r.json()["code"]) == (409, "invalid_transition")
    assert stored(world.challenge.id) == (ChallengeStatus.published, [])


def make_rival(world: World) -> User:
    with get_session_factory().begin() as session:
        return make_user(session, kind=OrganizationKind.institute)
