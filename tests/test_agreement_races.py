"""Signatures and upheld objections at the same moment, through the real server.

SQLite and PostgreSQL (when POSTGRES_URL is given), as in test_concurrent_writes: the
project's row lock orders the writers, the unique (project, party) signature is the last
guard. Nobody gets a 5xx; the project starts once and is revoked once.
"""

from typing import TypeVar

from sqlalchemy.orm import Session

from app.db import get_session_factory
from app.models import (
    Bid,
    BidStatus,
    Challenge,
    ChallengeStatus,
    Objection,
    ObjectionStatus,
    Project,
    ProjectSignature,
    ProjectStatus,
)
from tests.factories import headers
from tests.project_factories import make_world
from tests.races import Call, audited, count, fire

T = TypeVar("T")


def stored(session: Session, model: type[T], object_id: int) -> T:
    found = session.get(model, object_id, populate_existing=True)
    assert found is not None
    return found


def test_three_parties_signing_twice_at_once_start_the_project_once(server: str) -> None:
    with get_session_factory()() as session:
        world = make_world(session, status=ProjectStatus.signing)
        session.commit()
        project_id = world.project.id
        signers = [world.owner, world.performer, world.bureau]
    path = f"/projects/{project_id}/sign"
    calls = [Call("sign", "POST", path, headers(user)) for user in signers for _ in range(2)]

    answers = fire(server, calls)

    assert [a for a in answers if a.status >= 500] == []
    assert sorted(a.status for a in answers) == [200] * 3 + [409] * 3
    losers = {a.code for a in answers if a.status == 409}
    assert losers <= {"already_signed", "not_signing"}, answers
    with get_session_factory()() as session:
        assert count(session, ProjectSignature, ProjectSignature.project_id == project_id) == 3
        project = stored(session, Project, project_id)
        assert project.status is ProjectStatus.in_progress
        assert project.started_at is not None
        assert audited(session, "project.sign", project_id) == 3
        assert audited(session, "project.start", project_id) == 1


def test_two_objections_upheld_at_once_revoke_the_award_once(server: str) -> None:
    with get_session_factory()() as session:
        world = make_world(session, status=ProjectStatus.publicity)
        objections = [
            Objection(
                project_id=world.project.id, filed_by_id=filer.id, reason="理由", evidence="证据"
            )
            for filer in (world.rival, world.other_enterprise)
        ]
        session.add_all(objections)
        world.project.open_objections = 2
        session.commit()
        project_id, challenge_id = world.project.id, world.challenge.id
        bid_id, rival_bid_id = world.bid.id, world.rival_bid.id
        staff = headers(world.bureau)
    body = {"outcome": "upheld", "reason": "经核查属实"}
    calls = [Call("uphold", "POST", f"/objections/{o.id}/resolve", staff, body) for o in objections]

    answers = fire(server, calls)

    assert [a for a in answers if a.status >= 500] == []
    assert sorted(a.status for a in answers) == [200, 409], answers
    [loser] = [a for a in answers if a.status == 409]
    assert loser.code == "objection_already_resolved"
    with get_session_factory()() as session:
        project = stored(session, Project, project_id)
        assert (project.status, project.open_objections) == (ProjectStatus.revoked, 0)
        statuses = sorted(stored(session, Objection, o.id).status for o in objections)
        assert statuses == sorted([ObjectionStatus.upheld, ObjectionStatus.dismissed])
        assert audited(session, "project.revoke", project_id) == 1
        assert audited(session, "challenge.revoke_award", challenge_id) == 1
        assert audited(session, "bid.revoke_award", bid_id) == 1
        assert audited(session, "bid.restore", rival_bid_id) == 1
        assert stored(session, Challenge, challenge_id).status is ChallengeStatus.closed
        assert stored(session, Bid, bid_id).status is BidStatus.shortlisted
        assert stored(session, Bid, rival_bid_id).status is BidStatus.submitted
