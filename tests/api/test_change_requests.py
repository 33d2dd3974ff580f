"""Change requests: one party proposes a new milestone plan, the other party decides."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    Notification,
    NotificationKind,
    ProjectMilestone,
    ProjectStatus,
    User,
)
from app.models.project import local_today
from tests.factories import make_user
from tests.problems import assert_problem, auth
from tests.project_factories import ROLES, World, make_world

API = "/api/v1"
OUTSIDERS = {"other_enterprise", "rival", "expert", "other_expert"}


def plan(*days: int) -> dict[str, Any]:
    today = local_today()
    return {
        "milestones": [
            {"title": f"新计划第{i + 1}阶段", "due_date": (today + timedelta(days=d)).isoformat()}
            for i, d in enumerate(days)
        ],
        "reason": "中试设备到货推迟两个月",
    }


def propose(client: TestClient, world: World, user: User | None, body: Any = None) -> Any:
    return client.post(
        f"{API}/projects/{world.project.id}/change-requests",
        headers=auth(user),
        json=body if body is not None else plan(120, 300),
    )


def decide(client: TestClient, request_id: int, action: str, user: User | None) -> Any:
    body = {"reason": "新计划推迟过多"} if action == "decline" else None
    return client.post(
        f"{API}/change-requests/{request_id}/{action}", headers=auth(user), json=body
    )


def active_titles(session: Session, world: World) -> list[str]:
    session.expire_all()
    return list(
        session.scalars(
            select(ProjectMilestone.title)
            .where(ProjectMilestone.project_id == world.project.id, ProjectMilestone.active)
            .order_by(ProjectMilestone.position)
        )
    )


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


@pytest.mark.parametrize("role", ROLES)
def test_either_party_proposes_a_change_but_nobody_else(
    client: TestClient, world: World, role: str
) -> None:
    r = propose(client, world, world.role(role))
    if role in {"owner", "performer"}:
        assert r.status_code == 201, r.text
        data = r.json()
        assert data["status"] == "pending"
        assert data["proposer"] == {"owner": "enterprise", "performer": "performer"}[role]
        assert [m["title"] for m in data["milestones"]] == ["新计划第1阶段", "新计划第2阶段"]
    elif role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "project_not_found")
    else:
        assert_problem(r, 403, "not_project_party")


def test_only_one_change_request_is_pending_at_a_time(client: TestClient, world: World) -> None:
    first = propose(client, world, world.owner)
    assert first.status_code == 201
    assert_problem(propose(client, world, world.performer), 409, "change_request_pending")
    assert decide(client, first.json()["id"], "decline", world.performer).status_code == 200
    assert propose(client, world, world.performer).status_code == 201


@pytest.mark.parametrize("action", ["accept", "decline"])
@pytest.mark.parametrize("role", ROLES)
def test_only_the_other_party_decides(
    client: TestClient, world: World, role: str, action: str
) -> None:
    request_id = propose(client, world, world.owner).json()["id"]
    r = decide(client, request_id, action, world.role(role))
    if role == "performer":
        assert r.status_code == 200, r.text
        assert r.json()["status"] == {"accept": "accepted", "decline": "declined"}[action]
        assert r.json()["decided_by_id"] == world.performer.id
    elif role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "change_request_not_found")
    elif role == "owner":
        assert_problem(r, 403, "own_change_request")
    else:
        assert_problem(r, 403, "not_project_party")


def test_a_colleague_of_the_proposer_cannot_decide_either(
    client: TestClient, session: Session, world: World
) -> None:
    request_id = propose(client, world, world.performer).json()["id"]
    colleague = make_user(session, organization=world.performer.organization)
    assert_problem(decide(client, request_id, "accept", colleague), 403, "own_change_request")
    assert decide(client, request_id, "accept", world.owner).status_code == 200


def test_accepting_keeps_the_accepted_milestones_and_replaces_the_rest(
    client: TestClient, session: Session, world: World
) -> None:
    first = f"{API}/projects/{world.project.id}/milestones/{world.milestones[0].id}"
    assert (
        client.post(
            f"{first}/submit", headers=auth(world.performer), json={"deliverable": "样品"}
        ).status_code
        == 200
    )
    assert client.post(f"{first}/accept", headers=auth(world.owner)).status_code == 200
    request_id = propose(client, world, world.performer, plan(150, 200, 365)).json()["id"]
    r = decide(client, request_id, "accept", world.owner)
    assert r.status_code == 200, r.text

    milestones = client.get(
        f"{API}/projects/{world.project.id}/milestones", headers=auth(world.performer)
    ).json()["items"]
    assert [(m["title"], m["status"]) for m in milestones] == [
        ("第1阶段成果", "accepted"),
        ("新计划第1阶段", "planned"),
        ("新计划第2阶段", "planned"),
        ("新计划第3阶段", "planned"),
    ]
    replaced = session.get(ProjectMilestone, world.milestones[1].id, populate_existing=True)
    assert replaced is not None
    assert not replaced.active  # kept for the record
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "project.replan"))
    assert event.before == {"milestones": [m.id for m in world.milestones]}
    assert event.after is not None
    assert event.after["milestones"] == [m["id"] for m in milestones]
    (decided,) = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "change_request.accept")
    )
    assert (decided.before, decided.after) == ({"status": "pending"}, {"status": "accepted"})
    # A replaced milestone takes no more deliverables.
    r = client.post(
        f"{API}/projects/{world.project.id}/milestones/{replaced.id}/submit",
        headers=auth(world.performer),
        json={"deliverable": "样品"},
    )
    assert_problem(r, 409, "invalid_transition")


def test_declining_needs_a_reason_and_keeps_the_plan(
    client: TestClient, session: Session, world: World
) -> None:
    request_id = propose(client, world, world.owner).json()["id"]
    r = client.post(f"{API}/change-requests/{request_id}/decline", headers=auth(world.performer))
    assert_problem(r, 422, "validation_error")
    r = decide(client, request_id, "decline", world.performer)
    assert (r.json()["status"], r.json()["decision_reason"]) == ("declined", "新计划推迟过多")
    assert active_titles(session, world) == ["第1阶段成果", "第2阶段成果"]


@pytest.mark.parametrize("first", ["accept", "decline"])
@pytest.mark.parametrize("second", ["accept", "decline"])
def test_a_decided_change_request_cannot_be_decided_again(
    client: TestClient, world: World, first: str, second: str
) -> None:
    request_id = propose(client, world, world.owner).json()["id"]
    assert decide(client, request_id, first, world.performer).status_code == 200
    assert_problem(decide(client, request_id, second, world.performer), 409, "invalid_transition")


def test_proposal_and_decision_notify_the_other_party(
    client: TestClient, session: Session, world: World
) -> None:
    request_id = propose(client, world, world.owner).json()["id"]
    told = select(Notification.user_id, Notification.kind)
    assert {tuple(row) for row in session.execute(told)} == {
        (world.performer.id, NotificationKind.change_requested)
    }
    decide(client, request_id, "accept", world.performer)
    assert {tuple(row) for row in session.execute(told)} == {
        (world.performer.id, NotificationKind.change_requested),
        (world.owner.id, NotificationKind.change_decided),
    }


def test_a_new_plan_has_no_dates_in_the_past(client: TestClient, world: World) -> None:
    body = plan(30, -1)
    problem = assert_problem(propose(client, world, world.owner, body), 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "milestones", 1, "due_date"]
    assert_problem(
        propose(client, world, world.owner, {"milestones": [], "reason": "x"}),
        422,
        "validation_error",
    )


@pytest.mark.parametrize(
    "status",
    [
        ProjectStatus.publicity,
        ProjectStatus.signing,
        ProjectStatus.acceptance_requested,
        ProjectStatus.rectification,
        ProjectStatus.terminated,
    ],
)
def test_the_plan_changes_only_while_the_project_is_in_progress(
    client: TestClient, session: Session, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    assert_problem(propose(client, world, world.owner), 409, "project_not_running")


def test_a_pending_request_cannot_be_accepted_once_the_project_left_in_progress(
    client: TestClient, session: Session, world: World
) -> None:
    request_id = propose(client, world, world.owner).json()["id"]
    world.project.status = ProjectStatus.acceptance_requested
    session.flush()
    assert_problem(
        decide(client, request_id, "accept", world.performer), 409, "project_not_running"
    )


def test_an_unknown_change_request_is_not_found(client: TestClient, world: World) -> None:
    assert_problem(decide(client, 999999, "accept", world.owner), 404, "change_request_not_found")


@pytest.mark.parametrize("role", ROLES)
def test_change_requests_are_listed_for_the_parties_and_the_bureau_newest_first(
    client: TestClient, world: World, role: str
) -> None:
    first = propose(client, world, world.owner).json()["id"]
    decide(client, first, "decline", world.performer)
    second = propose(client, world, world.performer).json()["id"]
    r = client.get(
        f"{API}/projects/{world.project.id}/change-requests", headers=auth(world.role(role))
    )
    if role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "project_not_found")
    else:
        assert r.status_code == 200, r.text
        assert [c["id"] for c in r.json()["items"]] == [second, first]
        assert r.json()["total"] == 2
