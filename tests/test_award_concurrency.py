"""Invariants under concurrent requests, on PostgreSQL, through the real per-request session.

One award per challenge, one chosen (nominated or awarded) bid per challenge and one live bid per
organisation must hold when requests race: the services lock the challenge row and the database
has partial unique indexes behind them. SQLite serialises writers, so only PostgreSQL can show
a race; these tests are skipped without it. Nothing here is rolled back: each test commits real
rows into a database of its own module, created fresh and dropped at the end.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import get_engine, get_session_factory, migrate
from app.main import create_app
from app.models import (
    AuditEvent,
    Bid,
    BidStatus,
    Challenge,
    ChallengeStatus,
    OrganizationKind,
    Project,
    User,
)
from tests.databases import create_database, postgres_url
from tests.factories import BID_BODY, headers, make_bid, make_challenge, make_user

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(postgres_url() is None, reason="needs PostgreSQL (POSTGRES_URL)"),
]

API = "/api/v1"
RACERS = 8


def _clear_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()
    get_session_factory.cache_clear()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The real app on a fresh, migrated PostgreSQL database: every request commits for real."""
    base = postgres_url()
    assert base is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", base)  # create_database makes a PostgreSQL one beside it
        url, drop = create_database(tmp_path_factory.mktemp("race"))
        migrate(url)
        patch.setenv("DATABASE_URL", url)
        _clear_caches()
        try:
            yield create_app()
        finally:
            get_engine().dispose()
            _clear_caches()
            drop()
    _clear_caches()  # the settings of the restored environment


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    """A session on the app's database for arranging and checking rows; arrangements commit."""
    with get_session_factory()() as session:
        yield session


@dataclass
class Parties:
    owner: User
    bidder: User
    rival: User
    staff: User
    challenge: Challenge


def arrange(db: Session) -> Parties:
    owner = make_user(db)
    parties = Parties(
        owner=owner,
        bidder=make_user(db, kind=OrganizationKind.university),
        rival=make_user(db, kind=OrganizationKind.institute),
        staff=make_user(db, kind=OrganizationKind.bureau),
        challenge=make_challenge(db, owner=owner),
    )
    db.commit()
    return parties


def race(
    app: FastAPI, calls: list[Callable[[TestClient], Response]]
) -> list[tuple[int, str | None]]:
    """Run the calls at once, each from its own thread and client: (status, problem code) each."""
    barrier = threading.Barrier(len(calls))
    responses: list[Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            barrier.wait(timeout=60)  # a thread that never starts breaks it: no hang
            responses[i] = calls[i](client)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    stop = time.monotonic() + 60  # one bound for all, not 60 s per thread
    for thread in threads:
        thread.join(timeout=max(0.0, stop - time.monotonic()))
    answers = []
    for response in responses:
        assert response is not None, "a racer did not answer"
        problem = response.headers["content-type"].startswith("application/problem+json")
        answers.append((response.status_code, response.json()["code"] if problem else None))
    return answers


def post(path: str, user: User) -> Callable[[TestClient], Response]:
    token = headers(user)
    return lambda client: client.post(f"{API}/{path}", headers=token)


def bid_statuses(db: Session, challenge: Challenge) -> dict[int, BidStatus]:
    db.expire_all()
    rows = db.execute(select(Bid.id, Bid.status).where(Bid.challenge_id == challenge.id))
    return dict(rows.all())


def projects_of(db: Session, challenge: Challenge) -> int:
    stmt = select(func.count(Project.id)).where(Project.challenge_id == challenge.id)
    return db.scalar(stmt) or 0


def audited(db: Session, action: str, object_id: int) -> int:
    stmt = select(func.count(AuditEvent.id)).where(
        AuditEvent.action == action, AuditEvent.object_id == object_id
    )
    return db.scalar(stmt) or 0


def test_parallel_awards_of_one_bid_create_exactly_one_project(app: FastAPI, db: Session) -> None:
    parties = arrange(db)
    bid = make_bid(
        db, challenge=parties.challenge, bidder=parties.bidder, status=BidStatus.nominated
    )
    other = make_bid(db, challenge=parties.challenge, bidder=parties.rival)
    db.commit()

    answers = race(app, [post(f"bids/{bid.id}/award", parties.staff)] * RACERS)

    assert sorted(status for status, _ in answers) == [200] + [409] * (RACERS - 1), answers
    # The losers waited for the winner (a row lock), then saw the awarded challenge.
    losers = {code for status, code in answers if status == 409}
    assert losers <= {"challenge_not_open", "invalid_transition"}, answers
    assert projects_of(db, parties.challenge) == 1
    assert bid_statuses(db, parties.challenge) == {
        bid.id: BidStatus.awarded,
        other.id: BidStatus.rejected,
    }
    challenge = db.get(Challenge, parties.challenge.id, populate_existing=True)
    assert challenge is not None
    assert challenge.status is ChallengeStatus.awarded
    assert audited(db, "bid.award", bid.id) == 1
    assert audited(db, "challenge.award", parties.challenge.id) == 1


def test_nominating_another_bid_while_the_award_runs_keeps_one_chosen_bid(
    app: FastAPI, db: Session
) -> None:
    for _ in range(4):  # several rounds: the two requests interleave differently each time
        parties = arrange(db)
        nominated = make_bid(
            db, challenge=parties.challenge, bidder=parties.bidder, status=BidStatus.nominated
        )
        other = make_bid(db, challenge=parties.challenge, bidder=parties.rival)
        db.commit()

        (award, _), (nominate, code) = race(
            app,
            [
                post(f"bids/{nominated.id}/award", parties.staff),
                post(f"bids/{other.id}/nominate", parties.owner),
            ],
        )

        # Whichever runs first, the award of the bid nominated beforehand stands.
        assert (award, nominate) == (200, 409), code
        assert code in {"already_nominated", "challenge_not_open"}
        statuses = bid_statuses(db, parties.challenge)
        chosen = [s for s in statuses.values() if s in {BidStatus.nominated, BidStatus.awarded}]
        assert chosen == [BidStatus.awarded], statuses
        assert statuses[other.id] is BidStatus.rejected
        assert projects_of(db, parties.challenge) == 1


def test_parallel_nominations_of_different_bids_choose_one(app: FastAPI, db: Session) -> None:
    parties = arrange(db)
    bidders = [make_user(db, kind=OrganizationKind.university) for _ in range(RACERS // 2)]
    bids = [make_bid(db, challenge=parties.challenge, bidder=bidder) for bidder in bidders]
    db.commit()

    answers = race(app, [post(f"bids/{bid.id}/nominate", parties.owner) for bid in bids])

    assert sorted(answers, key=str) == [(200, None)] + [(409, "already_nominated")] * (
        len(bids) - 1
    )
    statuses = bid_statuses(db, parties.challenge)
    assert sorted(statuses.values()) == sorted(
        [BidStatus.nominated] + [BidStatus.submitted] * (len(bids) - 1)
    )


def test_parallel_bids_from_one_university_leave_one_live_bid(app: FastAPI, db: Session) -> None:
    parties = arrange(db)
    colleague = make_user(db, organization=parties.bidder.organization)
    db.commit()
    path = f"{API}/challenges/{parties.challenge.id}/bids"

    def submit(user: User) -> Callable[[TestClient], Response]:
        token = headers(user)
        return lambda client: client.post(path, json=BID_BODY, headers=token)

    users = [parties.bidder, colleague] * (RACERS // 2)
    answers = race(app, [submit(user) for user in users])

    assert sorted(answers, key=str) == [(201, None)] + [(409, "duplicate_bid")] * (RACERS - 1)
    statuses = bid_statuses(db, parties.challenge)
    assert list(statuses.values()) == [BidStatus.submitted]
