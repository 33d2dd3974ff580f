"""Termination: the bureau ends any project that has not ended, with a reason; and when
verdicts and a termination of one project arrive at once, exactly one of them wins."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db
from app.db import get_session_factory
from app.models import AuditEvent, Notification, NotificationKind, Project, ProjectStatus
from tests.factories import headers
from tests.problems import assert_problem, auth
from tests.project_factories import ROLES, World, make_world
from tests.races import Call, fire

API = "/api/v1"
S = ProjectStatus
REASON = {"reason": "企业已自行解决该技术难题，双方协商一致终止"}
OPEN_STATES = [S.publicity, S.signing, S.in_progress, S.acceptance_requested, S.rectification]
ENDED_STATES = [S.completed, S.failed, S.terminated, S.revoked]
ANSWERS = {
    "anonymous": (401, "not_authenticated"),
    "owner": (403, "not_project_party"),
    "other_enterprise": (404, "project_not_found"),
    "performer": (403, "not_project_party"),
    "rival": (404, "project_not_found"),
    "expert": (404, "project_not_found"),
    "other_expert": (404, "project_not_found"),
    "bureau": (200, None),
}


def terminate(client: TestClient, world: World, body: Any = REASON) -> Any:
    return client.post(
        f"{API}/projects/{world.project.id}/terminate", headers=auth(world.bureau), json=body
    )


def stored(session: Session, world: World) -> Project:
    project = session.get(Project, world.project.id, populate_existing=True)
    assert project is not None
    return project


def status_events(session: Session, project_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_id == project_id, AuditEvent.action == "project.terminate")
            .order_by(AuditEvent.id)
        )
    )


def test_the_table_names_every_role() -> None:
    assert set(ANSWERS) == set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_only_the_bureau_terminates(client: TestClient, session: Session, role: str) -> None:
    world = make_world(session)
    r = client.post(
        f"{API}/projects/{world.project.id}/terminate",
        headers=auth(world.role(role)),
        json=REASON,
    )
    status, code = ANSWERS[role]
    if code is None:
        assert r.status_code == status, r.text
        assert r.json()["status"] == "terminated"
    else:
        assert_problem(r, status, code)
        assert stored(session, world).status is S.in_progress


@pytest.mark.parametrize("status", OPEN_STATES)
def test_the_bureau_terminates_a_project_in_any_state_that_has_not_ended(
    client: TestClient, session: Session, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    r = terminate(client, world)
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["status"], data["status_reason"]) == ("terminated", REASON["reason"])
    project = stored(session, world)
    assert project.status is S.terminated
    assert project.ended_at is not None
    [event] = status_events(session, project.id)
    assert (event.before, event.after) == ({"status": status.value}, {"status": "terminated"})
    assert (event.actor_id, event.reason) == (world.bureau.id, REASON["reason"])
    told = set(
        session.scalars(
            select(Notification.user_id).where(
                Notification.object_id == project.id,
                Notification.kind == NotificationKind.project_terminated,
            )
        )
    )
    assert {world.owner.id, world.performer.id} <= told
    assert world.bureau.id not in told


def test_a_notice_period_that_ended_is_stored_before_the_termination(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=S.publicity)
    later = db.utcnow() + timedelta(days=8)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    assert terminate(client, world).status_code == 200
    [event] = status_events(session, world.project.id)
    assert event.before == {"status": "signing"}


@pytest.mark.parametrize("status", ENDED_STATES)
def test_an_ended_project_cannot_be_terminated(
    client: TestClient, session: Session, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    assert_problem(terminate(client, world), 409, "invalid_project_transition")
    assert stored(session, world).status is status
    assert status_events(session, world.project.id) == []


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  \n "}, {"reason": None}])
def test_a_termination_needs_a_reason(client: TestClient, session: Session, body: Any) -> None:
    world = make_world(session)
    problem = assert_problem(terminate(client, world, body), 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "reason"]
    assert stored(session, world).status is S.in_progress


# Verdicts and a termination at once, through a real server


ENDINGS = {"complete": "completed", "fail": "failed", "terminate": "terminated"}
PROJECTS = 3


def test_pass_fail_and_terminate_at_once_end_the_project_once(server: str) -> None:
    with get_session_factory()() as session:
        worlds = [make_world(session, status=S.acceptance_requested) for _ in range(PROJECTS)]
        session.commit()
    calls: list[Call] = []
    for world in worlds:
        base = f"/projects/{world.project.id}"
        staff = headers(world.bureau)
        measured = {"name": "纯度", "measured": "99.996", "passed": True}
        calls += [
            Call(
                f"complete {world.project.id}",
                "POST",
                f"{base}/acceptance",
                staff,
                {"indicators": [measured], "verdict": "pass"},
            ),
            Call(
                f"fail {world.project.id}",
                "POST",
                f"{base}/acceptance",
                staff,
                {
                    "indicators": [{**measured, "passed": False}],
                    "verdict": "fail",
                    "failure_kind": "misconduct",
                },
            ),
            Call(f"terminate {world.project.id}", "POST", f"{base}/terminate", staff, REASON),
        ]

    answers = fire(server, calls)

    failures = [(c.kind, a) for c, a in zip(calls, answers, strict=True) if a.status >= 500]
    assert failures == [], failures
    with get_session_factory()() as session:
        for world in worlds:
            mine = [
                (call.kind.split()[0], answer)
                for call, answer in zip(calls, answers, strict=True)
                if call.kind.endswith(f" {world.project.id}")
            ]
            winners = [action for action, answer in mine if answer.status == 200]
            assert len(winners) == 1, mine
            losers = [(a.status, a.code) for action, a in mine if a.status != 200]
            assert losers == [(409, "invalid_project_transition")] * 2, mine
            [winner] = winners
            project = session.get(Project, world.project.id)
            assert project is not None
            assert project.status.value == ENDINGS[winner]
            ended = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.object_type == "project",
                    AuditEvent.object_id == project.id,
                    AuditEvent.action.in_([f"project.{action}" for action in ENDINGS]),
                )
            )
            assert ended == 1
            records = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.object_id == project.id, AuditEvent.action == "project.acceptance"
                )
            )
            assert records == int(winner != "terminate")
            banned = project.performer_organization_id
            bans = session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.object_id == banned, AuditEvent.action == "organization.ban")
            )
            assert bans == int(winner == "fail")
