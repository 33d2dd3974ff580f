"""Milestones while the project runs: the performer submits, the enterprise accepts or rejects."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.models import AuditEvent, Notification, NotificationKind, ProjectStatus, User
from tests.problems import assert_problem, auth
from tests.project_factories import ROLES, World, make_world

API = "/api/v1"
OUTSIDERS = {"other_enterprise", "rival", "expert", "other_expert"}
DELIVERABLE = {"deliverable": "中试样品检测报告，纯度 99.996%"}


def milestone_url(world: World, index: int = 0, action: str = "") -> str:
    milestone = world.milestones[index]
    url = f"{API}/projects/{world.project.id}/milestones/{milestone.id}"
    return f"{url}/{action}" if action else url


def notified(session: Session, kind: NotificationKind) -> set[int]:
    """The users told of `kind`."""
    return set(session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def at_china_time(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(db, "utcnow", lambda: moment.astimezone(UTC))


def submit(client: TestClient, world: World, index: int = 0) -> Any:
    return client.post(
        milestone_url(world, index, "submit"), headers=auth(world.performer), json=DELIVERABLE
    )


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


@pytest.mark.parametrize("role", ROLES)
def test_milestones_are_read_by_the_parties_and_the_bureau_only(
    client: TestClient, world: World, role: str
) -> None:
    r = client.get(f"{API}/projects/{world.project.id}/milestones", headers=auth(world.role(role)))
    if role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "project_not_found")
    else:
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [m["id"] for m in items] == [m.id for m in world.milestones]
        assert [m["status"] for m in items] == ["planned", "planned"]
        assert r.json()["total"] == 2


def test_a_milestone_is_overdue_from_the_day_after_its_date_in_china(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = date(2027, 3, 31)
    world = make_world(session, milestone_dates=(due, due + timedelta(days=90)))
    url = f"{API}/projects/{world.project.id}/milestones"
    # 23:59 on the due date in China is 15:59 UTC: still due today.
    at_china_time(monkeypatch, datetime(2027, 3, 31, 23, 59, tzinfo=db.CHINA))
    assert [m["status"] for m in client.get(url, headers=auth(world.owner)).json()["items"]] == [
        "planned",
        "planned",
    ]
    # Midnight in China (16:00 UTC on the due date): the date has passed.
    at_china_time(monkeypatch, datetime(2027, 4, 1, 0, 0, tzinfo=db.CHINA))
    items = client.get(url, headers=auth(world.owner)).json()["items"]
    assert [m["status"] for m in items] == ["overdue", "planned"]


def test_an_accepted_milestone_is_never_overdue(
    client: TestClient, session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert submit(client, world).status_code == 200
    r = client.post(milestone_url(world, 0, "accept"), headers=auth(world.owner))
    assert r.json()["status"] == "accepted"
    later = db.utcnow() + timedelta(days=365)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    items = client.get(
        f"{API}/projects/{world.project.id}/milestones", headers=auth(world.bureau)
    ).json()["items"]
    assert [m["status"] for m in items] == ["accepted", "overdue"]


@pytest.mark.parametrize("status", [ProjectStatus.terminated, ProjectStatus.completed])
def test_an_ended_project_shows_the_stored_status_and_nothing_overdue(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    later = db.utcnow() + timedelta(days=365)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    r = client.get(f"{API}/projects/{world.project.id}/milestones", headers=auth(world.owner))
    assert [m["status"] for m in r.json()["items"]] == ["planned", "planned"]


def test_submitting_an_overdue_milestone_is_allowed(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = db.utcnow() + timedelta(days=100)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    r = submit(client, world)
    assert r.status_code == 200, r.text
    # Still unaccepted past its date: it reads overdue, with the deliverable on it.
    assert (r.json()["status"], r.json()["deliverable"]) == ("overdue", DELIVERABLE["deliverable"])
    accepted = client.post(milestone_url(world, 0, "accept"), headers=auth(world.owner))
    assert accepted.json()["status"] == "accepted"


@pytest.mark.parametrize("role", ROLES)
def test_only_the_performer_submits_a_deliverable(
    client: TestClient, world: World, role: str
) -> None:
    r = client.post(
        milestone_url(world, 0, "submit"), headers=auth(world.role(role)), json=DELIVERABLE
    )
    if role == "performer":
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "submitted"
        assert r.json()["submitted_at"]
    elif role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "project_not_found")
    else:
        assert_problem(r, 403, "not_project_party")


@pytest.mark.parametrize("action", ["accept", "reject"])
@pytest.mark.parametrize("role", ROLES)
def test_only_the_enterprise_accepts_or_rejects(
    client: TestClient, world: World, role: str, action: str
) -> None:
    assert submit(client, world).status_code == 200
    body = {"reason": "检测报告缺少第三方签章"} if action == "reject" else None
    r = client.post(milestone_url(world, 0, action), headers=auth(world.role(role)), json=body)
    if role == "owner":
        assert r.status_code == 200, r.text
        assert r.json()["status"] == {"accept": "accepted", "reject": "rejected"}[action]
    elif role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "project_not_found")
    else:
        assert_problem(r, 403, "not_project_party")


def test_reject_needs_a_reason(client: TestClient, world: World) -> None:
    assert submit(client, world).status_code == 200
    for body in (None, {}, {"reason": "  "}):
        r = client.post(milestone_url(world, 0, "reject"), headers=auth(world.owner), json=body)
        assert_problem(r, 422, "validation_error")


def test_submit_needs_a_deliverable(client: TestClient, world: World) -> None:
    r = client.post(milestone_url(world, 0, "submit"), headers=auth(world.performer), json={})
    assert_problem(r, 422, "validation_error")


def test_a_rejected_deliverable_is_submitted_again_and_then_accepted(
    client: TestClient, session: Session, world: World
) -> None:
    assert submit(client, world).status_code == 200
    r = client.post(
        milestone_url(world, 0, "reject"),
        headers=auth(world.owner),
        json={"reason": "检测报告缺少第三方签章"},
    )
    assert (r.json()["status"], r.json()["reason"]) == ("rejected", "检测报告缺少第三方签章")
    again = submit(client, world)
    assert (again.json()["status"], again.json()["reason"]) == ("submitted", None)
    r = client.post(milestone_url(world, 0, "accept"), headers=auth(world.owner))
    assert r.json()["status"] == "accepted"
    assert r.json()["decided_at"]
    actions = [(e.before, e.after) for e in events(session, "milestone.submit")]
    assert [(b["status"], a["status"]) for b, a in actions] == [
        ("planned", "submitted"),
        ("rejected", "submitted"),
    ]
    (rejected,) = events(session, "milestone.reject")
    assert (rejected.object_type, rejected.object_id) == ("milestone", world.milestones[0].id)
    assert rejected.reason == "检测报告缺少第三方签章"
    (accepted,) = events(session, "milestone.accept")
    assert (accepted.before, accepted.after) == (
        {"status": "submitted", "project_id": world.project.id},
        {"status": "accepted", "project_id": world.project.id},
    )


def test_each_step_tells_the_other_party(
    client: TestClient, session: Session, world: World
) -> None:
    assert submit(client, world).status_code == 200
    assert notified(session, NotificationKind.deliverable_submitted) == {world.owner.id}
    client.post(milestone_url(world, 0, "reject"), headers=auth(world.owner), json={"reason": "缺"})
    assert notified(session, NotificationKind.deliverable_rejected) == {world.performer.id}
    assert submit(client, world).status_code == 200
    client.post(milestone_url(world, 0, "accept"), headers=auth(world.owner))
    assert notified(session, NotificationKind.deliverable_accepted) == {world.performer.id}


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        ([], "accept"),  # nothing submitted
        ([], "reject"),
        (["submit"], "submit"),  # awaiting the enterprise
        (["submit", "accept"], "submit"),
        (["submit", "accept"], "reject"),
        (["submit", "accept"], "accept"),
    ],
)
def test_a_milestone_state_that_does_not_allow_the_action_is_409(
    client: TestClient, world: World, steps: list[str], action: str
) -> None:
    users: dict[str, User] = {"submit": world.performer, "accept": world.owner}
    users["reject"] = world.owner
    bodies = {"submit": DELIVERABLE, "reject": {"reason": "不符合要求"}, "accept": None}
    for step in steps:
        r = client.post(milestone_url(world, 0, step), headers=auth(users[step]), json=bodies[step])
        assert r.status_code == 200, r.text
    r = client.post(
        milestone_url(world, 0, action), headers=auth(users[action]), json=bodies[action]
    )
    assert_problem(r, 409, "invalid_transition")


def test_a_milestone_of_another_project_is_not_found(
    client: TestClient, session: Session, world: World
) -> None:
    other = make_world(session)
    url = f"{API}/projects/{world.project.id}/milestones/{other.milestones[0].id}/submit"
    r = client.post(url, headers=auth(world.performer), json=DELIVERABLE)
    assert_problem(r, 404, "milestone_not_found")
    r = client.post(
        f"{API}/projects/{world.project.id}/milestones/999999/submit",
        headers=auth(world.performer),
        json=DELIVERABLE,
    )
    assert_problem(r, 404, "milestone_not_found")


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (ProjectStatus.publicity, False),
        (ProjectStatus.signing, False),
        (ProjectStatus.in_progress, True),
        (ProjectStatus.rectification, True),
        (ProjectStatus.acceptance_requested, False),
        (ProjectStatus.completed, False),
        (ProjectStatus.terminated, False),
        (ProjectStatus.revoked, False),
    ],
)
def test_deliverables_move_only_while_the_project_runs_or_is_rectified(
    client: TestClient, session: Session, status: ProjectStatus, allowed: bool
) -> None:
    world = make_world(session, status=status)
    r = submit(client, world)
    if allowed:
        assert r.status_code == 200, r.text
    else:
        problem = assert_problem(r, 409, "project_not_running")
        assert status.label in problem["detail"]
