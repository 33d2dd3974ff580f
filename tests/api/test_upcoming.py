"""GET /me/upcoming: what falls due for the user in the next N days, soonest first.

The clock is fixed (app.db.utcnow, monkeypatched) at 10:00 China time on a Monday; the rows
are written with dates relative to it. Dates end at midnight China time.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import db
from app.models import (
    BidStatus,
    ChallengeStatus,
    MilestoneStatus,
    Party,
    ProjectSignature,
    ProjectStatus,
    User,
)
from app.services.upcoming import end_of_day
from tests.factories import headers, make_bid, make_challenge
from tests.problems import assert_problem
from tests.project_factories import World, make_world

API = "/api/v1"
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # Monday 1 March 2027, 10:00 in China
TODAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "utcnow", lambda: NOW)


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


def world_with(session: Session, status: ProjectStatus, *offsets: int) -> World:
    world = make_world(session, status=status, milestone_dates=tuple(day(n) for n in offsets))
    world.project.publicity_ends_at = NOW - timedelta(days=1)
    session.flush()
    return world


def upcoming(client: TestClient, user: User | None, **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"{API}/me/upcoming", params=params, headers=headers(user) if user else {})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()
    return items


def kinds(items: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(i["kind"], i["object_type"], i["object_id"]) for i in items]


def test_milestones_and_the_expected_acceptance_in_the_window_soonest_first(
    client: TestClient, session: Session
) -> None:
    world = world_with(session, ProjectStatus.in_progress, 3, 40)
    first, second = world.milestones
    project = world.project
    for user in (world.owner, world.performer, world.bureau):
        assert kinds(upcoming(client, user, days=30)) == [("milestone", "milestone", first.id)]
        assert kinds(upcoming(client, user, days=60)) == [
            ("milestone", "milestone", first.id),
            ("milestone", "milestone", second.id),
            ("acceptance", "project", project.id),  # when the last milestone is due
        ]
    (item,) = upcoming(client, world.performer)  # the default window is 30 days
    assert item == {
        "kind": "milestone",
        "object_type": "milestone",
        "object_id": first.id,
        "due_at": "2027-03-04T16:00:00Z",  # the end of 4 March in China
        "title": f"{project.title}：{first.title}",
        "project_id": project.id,
        "overdue": False,
    }
    acceptance = upcoming(client, world.owner, days=60)[2]
    assert acceptance["due_at"] == upcoming(client, world.owner, days=60)[1]["due_at"]
    assert acceptance["title"] == project.title


def test_nobody_outside_the_project_sees_its_dates(client: TestClient, session: Session) -> None:
    world = world_with(session, ProjectStatus.in_progress, 3, 40)
    for user in (world.other_enterprise, world.rival, world.expert, world.other_expert):
        assert upcoming(client, user, days=365) == []


def test_the_window_ends_at_now_plus_days_and_starts_after_now(
    client: TestClient, session: Session
) -> None:
    world = world_with(session, ProjectStatus.in_progress, 0, 1)
    today, tomorrow = world.milestones
    # With days=1 the window ends tomorrow at 10:00: today's date ends inside it.
    assert kinds(upcoming(client, world.owner, days=1)) == [("milestone", "milestone", today.id)]
    assert kinds(upcoming(client, world.owner, days=2)) == [
        ("milestone", "milestone", today.id),
        ("milestone", "milestone", tomorrow.id),
        ("acceptance", "project", world.project.id),  # the last milestone's date
    ]
    on_edge = make_challenge(session, owner=world.owner)
    on_edge.deadline = NOW + timedelta(days=30)
    past_edge = make_challenge(session, owner=world.owner)
    past_edge.deadline = NOW + timedelta(days=30, seconds=1)
    session.flush()
    deadlines = [
        i["object_id"] for i in upcoming(client, world.owner) if i["kind"] == "bidding_deadline"
    ]
    assert deadlines == [on_edge.id]


def test_overdue_items_come_first_unless_only_the_window_is_asked_for(
    client: TestClient, session: Session
) -> None:
    world = world_with(session, ProjectStatus.in_progress, -5, -2, 10)
    late, accepted, soon = world.milestones
    accepted.status = MilestoneStatus.accepted
    session.flush()
    items = upcoming(client, world.performer, days=30)
    assert kinds(items) == [
        ("milestone", "milestone", late.id),
        ("milestone", "milestone", soon.id),
        ("acceptance", "project", world.project.id),
    ]
    assert [i["overdue"] for i in items] == [True, False, False]
    strict = upcoming(client, world.performer, days=30, overdue="false")
    assert kinds(strict) == [
        ("milestone", "milestone", soon.id),
        ("acceptance", "project", world.project.id),
    ]


def test_replaced_milestones_and_projects_not_running_have_no_milestones(
    client: TestClient, session: Session
) -> None:
    world = world_with(session, ProjectStatus.in_progress, 3, 5)
    world.milestones[0].active = False
    session.flush()
    assert [i["object_id"] for i in upcoming(client, world.owner) if i["kind"] == "milestone"] == [
        world.milestones[1].id
    ]
    for status in (ProjectStatus.completed, ProjectStatus.terminated, ProjectStatus.signing):
        other = world_with(session, status, 3)
        for item in upcoming(client, other.owner):
            assert item["kind"] not in {"milestone", "acceptance"}


def test_the_end_of_the_notice_period_is_due_for_the_parties_and_the_bureau(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, status=ProjectStatus.publicity)
    world.project.publicity_ends_at = NOW + timedelta(days=6)
    session.flush()
    expected = [("publicity_end", "project", world.project.id)]
    for user in (world.owner, world.performer, world.bureau):
        items = upcoming(client, user, days=7)
        assert kinds(items) == expected
        assert items[0]["due_at"] == "2027-03-07T02:00:00Z"
        assert upcoming(client, user, days=5) == []
    for user in (world.rival, world.other_enterprise, world.expert):
        assert upcoming(client, user, days=7) == []


def test_a_signature_is_awaited_from_each_party_that_has_not_signed(
    client: TestClient, session: Session
) -> None:
    # In publicity, its notice period over and nothing pending: it reads as signing.
    world = world_with(session, ProjectStatus.publicity)
    session.add(
        ProjectSignature(
            project_id=world.project.id, party=Party.enterprise, user_id=world.owner.id
        )
    )
    session.flush()
    awaited = [("signature", "project", world.project.id)]
    assert upcoming(client, world.owner) == []
    for user in (world.performer, world.bureau):
        (item,) = upcoming(client, user)
        assert kinds([item]) == awaited
        assert item["overdue"] is True
        assert item["due_at"] == "2027-02-28T02:00:00Z"
        assert upcoming(client, user, overdue="false") == []
    for user in (world.rival, world.other_enterprise, world.expert):
        assert upcoming(client, user) == []
    world.project.open_objections = 1  # an objection holds it in publicity: nothing to sign
    session.flush()
    assert upcoming(client, world.performer) == []


def test_rectification_dates_of_the_midterm_and_of_acceptance(
    client: TestClient, session: Session
) -> None:
    running = world_with(session, ProjectStatus.in_progress, 200)
    running.project.midterm_outcome = "rectify"
    running.project.midterm_rectify_by = day(20)
    rectifying = world_with(session, ProjectStatus.rectification, 200)
    rectifying.project.rectify_by = day(50)
    session.flush()
    assert kinds(upcoming(client, running.performer, days=60)) == [
        ("rectification", "project", running.project.id)
    ]
    (item,) = upcoming(client, rectifying.owner, days=60)
    assert kinds([item]) == [("rectification", "project", rectifying.project.id)]
    assert item["due_at"] == end_of_day(day(50)).isoformat().replace("+00:00", "Z")
    bureau = kinds(upcoming(client, running.bureau, days=60))
    assert ("rectification", "project", running.project.id) in bureau
    assert ("rectification", "project", rectifying.project.id) in bureau
    assert upcoming(client, rectifying.owner, days=49) == []


def test_bidding_deadlines_for_the_owner_a_live_bidder_and_the_bureau(
    client: TestClient, session: Session
) -> None:
    world = world_with(session, ProjectStatus.completed)
    mine = make_challenge(session, owner=world.owner, deadline_days=0)
    mine.deadline = NOW + timedelta(days=10)
    others = make_challenge(session, owner=world.other_enterprise)
    others.deadline = NOW + timedelta(days=5)
    make_bid(session, challenge=mine, bidder=world.performer)
    make_bid(session, challenge=others, bidder=world.rival, status=BidStatus.withdrawn)
    draft = make_challenge(session, owner=world.owner, status=ChallengeStatus.draft)
    draft.deadline = NOW + timedelta(days=3)
    session.flush()
    deadline = [("bidding_deadline", "challenge", mine.id)]
    assert kinds(upcoming(client, world.owner)) == deadline
    assert kinds(upcoming(client, world.performer)) == deadline
    assert kinds(upcoming(client, world.other_enterprise)) == [
        ("bidding_deadline", "challenge", others.id)
    ]
    assert upcoming(client, world.rival) == []  # its bid was withdrawn
    assert kinds(upcoming(client, world.bureau)) == [
        ("bidding_deadline", "challenge", others.id),
        ("bidding_deadline", "challenge", mine.id),
    ]
    (item,) = upcoming(client, world.owner)
    assert (item["title"], item["project_id"], item["overdue"]) == (mine.title, None, False)


@pytest.mark.parametrize("days", ["0", "366", "-1", "abc", "1.5"])
def test_days_outside_1_to_365_is_422(client: TestClient, session: Session, days: str) -> None:
    world = world_with(session, ProjectStatus.in_progress, 3)
    r = client.get(f"{API}/me/upcoming", params={"days": days}, headers=headers(world.owner))
    assert_problem(r, 422, "validation_error")


@pytest.mark.parametrize("days", [1, 365])
def test_days_1_and_365_are_accepted(client: TestClient, session: Session, days: int) -> None:
    world = world_with(session, ProjectStatus.in_progress, 300)
    items = upcoming(client, world.owner, days=days)
    assert len(items) == (2 if days == 365 else 0)


def test_anonymous_is_401(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/me/upcoming"), 401, "not_authenticated")
