"""The task agreement (任务书): the enterprise, the performer and the bureau each sign once."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.models import Notification, NotificationKind, ProjectStatus, Role, User
from app.services import agreement
from tests.factories import headers, make_user
from tests.problems import assert_problem, auth
from tests.project_factories import ROLES, World, make_world

API = "/api/v1"


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session, status=ProjectStatus.signing)


def sign(client: TestClient, user: User | None, world: World) -> Any:
    return client.post(f"{API}/projects/{world.project.id}/sign", headers=auth(user))


def project_of(client: TestClient, world: World) -> Any:
    r = client.get(f"{API}/projects/{world.project.id}", headers=headers(world.bureau))
    assert r.status_code == 200, r.text
    return r.json()


def notified(session: Session, kind: NotificationKind) -> list[int]:
    stmt = select(Notification.user_id).where(Notification.kind == kind).order_by(Notification.id)
    return list(session.scalars(stmt))


def audit_actions(client: TestClient, world: World) -> list[str]:
    r = client.get(
        f"{API}/audit-events",
        params={"object_type": "project", "object_id": world.project.id},
        headers=headers(world.bureau),
    )
    return [e["action"] for e in reversed(r.json()["items"])]


SIGNING = {  # role: (status, code, party)
    "anonymous": (401, "not_authenticated", None),
    "owner": (200, None, "enterprise"),
    "other_enterprise": (404, "project_not_found", None),
    "performer": (200, None, "performer"),
    "rival": (404, "project_not_found", None),
    "expert": (404, "project_not_found", None),
    "other_expert": (404, "project_not_found", None),
    "bureau": (200, None, "bureau"),
}


@pytest.mark.parametrize("role", ROLES)
def test_each_party_signs_and_nobody_else(client: TestClient, world: World, role: str) -> None:
    status, code, party = SIGNING[role]
    user = world.role(role)
    r = sign(client, user, world)
    if code is not None:
        assert_problem(r, status, code)
        assert project_of(client, world)["signatures"] == []
        return
    assert r.status_code == 200, r.text
    assert user is not None
    data = r.json()
    assert data["status"] == "signing"
    [signature] = data["signatures"]
    assert (signature["party"], signature["user_id"]) == (party, user.id)
    assert signature["signed_at"]


def test_an_expert_of_a_party_is_not_a_signatory(client: TestClient, session: Session) -> None:
    world = make_world(session, status=ProjectStatus.signing)
    # Even an expert account in a party's organisation sees only the projects it reviews.
    expert = make_user(session, organization=world.owner.organization, role=Role.expert)
    assert_problem(sign(client, expert, world), 404, "project_not_found")


@pytest.mark.parametrize("role", ["owner", "performer", "bureau"])
def test_a_party_signs_once(client: TestClient, session: Session, world: World, role: str) -> None:
    user = world.role(role)
    assert user is not None
    assert sign(client, user, world).status_code == 200
    assert_problem(sign(client, user, world), 409, "already_signed")
    colleague = (
        make_user(session, kind=user.organization.kind)
        if role == "bureau"
        else make_user(session, organization=user.organization)
    )
    assert_problem(sign(client, colleague, world), 409, "already_signed")
    assert len(project_of(client, world)["signatures"]) == 1


def test_a_concurrent_signature_of_the_same_party_is_already_signed(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sign(client, world.owner, world).status_code == 200
    # As if another request had signed after this one looked: the unique constraint answers.
    monkeypatch.setattr(agreement, "signed_parties", lambda *_: set())
    assert_problem(sign(client, world.owner, world), 409, "already_signed")
    assert len(project_of(client, world)["signatures"]) == 1


def test_the_third_signature_starts_the_project(
    client: TestClient, session: Session, world: World
) -> None:
    owner_colleague = make_user(session, organization=world.owner.organization)
    assert sign(client, world.owner, world).json()["started_at"] is None
    assert notified(session, NotificationKind.signature_awaited) == sorted(
        [world.performer.id, world.bureau.id]
    )
    assert sign(client, world.bureau, world).json()["status"] == "signing"
    assert notified(session, NotificationKind.signature_awaited)[2:] == [world.performer.id]
    r = sign(client, world.performer, world)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["status"] == "in_progress"
    assert data["started_at"]
    assert [s["party"] for s in data["signatures"]] == ["enterprise", "bureau", "performer"]
    assert audit_actions(client, world) == ["project.sign"] * 3 + ["project.start"]
    started = set(notified(session, NotificationKind.project_started))
    assert started == {world.owner.id, owner_colleague.id, world.bureau.id}
    assert len(notified(session, NotificationKind.signature_awaited)) == 3


@pytest.mark.parametrize(
    "status",
    [ProjectStatus.in_progress, ProjectStatus.revoked, ProjectStatus.terminated],
)
def test_no_signature_outside_signing(
    client: TestClient, session: Session, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    assert_problem(sign(client, world.owner, world), 409, "not_signing")


def test_no_signature_while_the_notice_runs(client: TestClient, session: Session) -> None:
    world = make_world(session, status=ProjectStatus.publicity)
    assert_problem(sign(client, world.bureau, world), 409, "not_signing")
    assert project_of(client, world)["signatures"] == []


def test_signing_opens_when_the_notice_ends_with_no_process_running(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=ProjectStatus.publicity)
    later = world.project.publicity_ends_at + timedelta(minutes=1)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    assert project_of(client, world)["status"] == "signing"
    assert audit_actions(client, world) == []  # the read stored nothing
    for user in (world.owner, world.performer, world.bureau):
        assert sign(client, user, world).status_code == 200
    data = project_of(client, world)
    assert data["status"] == "in_progress"
    # The first signature stored the end of the notice (by the system), once.
    assert audit_actions(client, world) == ["project.publicity_end"] + ["project.sign"] * 3 + [
        "project.start"
    ]


def test_a_pending_objection_keeps_signing_closed(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=ProjectStatus.publicity)
    r = client.post(
        f"{API}/projects/{world.project.id}/objections",
        json={"reason": "理由", "evidence": "证据"},
        headers=headers(world.rival),
    )
    assert r.status_code == 201
    later = world.project.publicity_ends_at + timedelta(days=10)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    assert_problem(sign(client, world.owner, world), 409, "not_signing")
