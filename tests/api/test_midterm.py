"""The mid-term check: the bureau's pass, rectify (by a date) or terminate on a running project."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Notification, NotificationKind, Project, ProjectStatus
from app.models.project import local_today
from tests.problems import assert_problem, auth
from tests.project_factories import ROLES, World, make_world

API = "/api/v1"
OUTSIDERS = {"other_enterprise", "rival", "expert", "other_expert"}


def check(client: TestClient, world: World, body: dict[str, Any], role: str = "bureau") -> Any:
    return client.post(
        f"{API}/projects/{world.project.id}/midterm",
        headers=auth(world.role(role)),
        json={"comment": "进度符合任务书要求", **body},
    )


def stored(session: Session, world: World) -> Project:
    project = session.get(Project, world.project.id, populate_existing=True)
    assert project is not None
    return project


def in_days(days: int) -> str:
    return (local_today() + timedelta(days=days)).isoformat()


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session)


@pytest.mark.parametrize("role", ROLES)
def test_only_the_bureau_records_the_midterm_check(
    client: TestClient, world: World, role: str
) -> None:
    r = check(client, world, {"outcome": "pass"}, role)
    if role == "anonymous":
        assert_problem(r, 401, "not_authenticated")
    elif role == "bureau":
        assert r.status_code == 200, r.text
        assert (r.json()["id"], r.json()["status"]) == (world.project.id, "in_progress")
    elif role in OUTSIDERS:
        assert_problem(r, 404, "project_not_found")
    else:
        assert_problem(r, 403, "not_project_party")


def test_pass_keeps_the_project_running_and_stores_the_outcome(
    client: TestClient, session: Session, world: World
) -> None:
    assert check(client, world, {"outcome": "pass"}).status_code == 200
    project = stored(session, world)
    assert (project.status, project.midterm_outcome, project.midterm_comment) == (
        ProjectStatus.in_progress,
        "pass",
        "进度符合任务书要求",
    )
    assert project.midterm_rectify_by is None
    assert project.midterm_at is not None
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "project.midterm"))
    assert event.before == {
        "status": "in_progress",
        "midterm_outcome": None,
        "midterm_rectify_by": None,
    }
    assert event.after == {
        "status": "in_progress",
        "midterm_outcome": "pass",
        "midterm_rectify_by": None,
    }


def test_rectify_stores_its_date_and_tells_both_parties(
    client: TestClient, session: Session, world: World
) -> None:
    r = check(client, world, {"outcome": "rectify", "rectify_by": in_days(60)})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    project = stored(session, world)
    assert (project.midterm_outcome, project.midterm_rectify_by) == (
        "rectify",
        local_today() + timedelta(days=60),
    )
    told = session.scalars(
        select(Notification.user_id).where(Notification.kind == NotificationKind.midterm_recorded)
    )
    assert set(told) == {world.owner.id, world.performer.id}


@pytest.mark.parametrize(
    "body",
    [
        {"outcome": "rectify"},  # no date
        {"outcome": "rectify", "rectify_by": None},
        {"outcome": "rectify", "rectify_by": in_days(0)},  # today is not after today
        {"outcome": "rectify", "rectify_by": in_days(-3)},
        {"outcome": "pass", "rectify_by": in_days(30)},  # only rectify has a date
        {"outcome": "terminate", "rectify_by": in_days(30)},
    ],
)
def test_rectify_by_is_given_for_rectify_only_and_after_today(
    client: TestClient, session: Session, world: World, body: dict[str, Any]
) -> None:
    problem = assert_problem(check(client, world, body), 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "rectify_by"]
    assert stored(session, world).midterm_outcome is None


@pytest.mark.parametrize(
    "body", [{"outcome": "fail"}, {"outcome": "pass", "comment": ""}, {"comment": "好"}]
)
def test_a_bad_outcome_or_no_comment_is_422(client: TestClient, world: World, body: Any) -> None:
    r = client.post(
        f"{API}/projects/{world.project.id}/midterm", headers=auth(world.bureau), json=body
    )
    assert_problem(r, 422, "validation_error")


def test_terminate_ends_the_project_with_the_comment_as_reason(
    client: TestClient, session: Session, world: World
) -> None:
    r = check(client, world, {"outcome": "terminate", "comment": "关键技术路线不可行"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["status_reason"]) == ("terminated", "关键技术路线不可行")
    project = stored(session, world)
    assert project.ended_at is not None
    assert project.midterm_outcome == "terminate"
    actions = set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == project.id))
    )
    assert {"project.terminate", "project.midterm"} <= actions
    kinds = {tuple(row) for row in session.execute(select(Notification.user_id, Notification.kind))}
    assert {
        (world.owner.id, NotificationKind.project_terminated),
        (world.performer.id, NotificationKind.midterm_recorded),
    } <= kinds
    # Ended: no second check.
    assert_problem(check(client, world, {"outcome": "pass"}), 409, "project_not_running")


@pytest.mark.parametrize(
    "status",
    [
        ProjectStatus.publicity,
        ProjectStatus.signing,
        ProjectStatus.acceptance_requested,
        ProjectStatus.rectification,
        ProjectStatus.completed,
        ProjectStatus.terminated,
    ],
)
def test_the_midterm_check_is_only_for_a_project_in_progress(
    client: TestClient, session: Session, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    assert_problem(check(client, world, {"outcome": "pass"}), 409, "project_not_running")
