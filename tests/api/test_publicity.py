"""Public notice (公示): objections by anyone signed in, the bureau's decisions, revocation."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from app import db
from app.models import (
    BidStatus,
    ChallengeStatus,
    Notification,
    NotificationKind,
    Objection,
    OrganizationKind,
    ProjectStatus,
    User,
)
from tests.factories import headers, make_bid, make_challenge, make_user
from tests.problems import assert_problem, auth
from tests.project_factories import ROLES, World, make_world

API = "/api/v1"
OBJECTION = {"reason": "揭榜单位申报的团队负责人已调离", "evidence": "调动文件编号 2026-017"}


@pytest.fixture
def world(session: Session) -> World:
    return make_world(session, status=ProjectStatus.publicity)


def move_clock(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    monkeypatch.setattr(db, "utcnow", lambda: when)


def object_to(client: TestClient, user: User | None, project_id: int, body: Any = None) -> Any:
    return client.post(
        f"{API}/projects/{project_id}/objections", json=body or OBJECTION, headers=auth(user)
    )


def filed(client: TestClient, user: User, project_id: int) -> int:
    r = object_to(client, user, project_id)
    assert r.status_code == 201, r.text
    objection_id: int = r.json()["id"]
    return objection_id


def resolve(
    client: TestClient, user: User | None, objection_id: int, outcome: str = "dismissed"
) -> Any:
    return client.post(
        f"{API}/objections/{objection_id}/resolve",
        json={"outcome": outcome, "reason": "经核查"},
        headers=auth(user),
    )


def project_of(client: TestClient, world: World, project_id: int | None = None) -> Any:
    r = client.get(
        f"{API}/projects/{project_id or world.project.id}", headers=headers(world.bureau)
    )
    assert r.status_code == 200, r.text
    return r.json()


def bid_status(client: TestClient, world: World, bid_id: int) -> str:
    status: str = client.get(f"{API}/bids/{bid_id}", headers=headers(world.bureau)).json()["status"]
    return status


def notified(session: Session, kind: NotificationKind, after: int = 0) -> set[int]:
    stmt = select(Notification.user_id).where(Notification.kind == kind, Notification.id > after)
    return set(session.scalars(stmt))


def audit_actions(client: TestClient, world: World, object_type: str, object_id: int) -> list[Any]:
    r = client.get(
        f"{API}/audit-events",
        params={"object_type": object_type, "object_id": object_id},
        headers=headers(world.bureau),
    )
    return [(e["action"], e["before"], e["after"]) for e in reversed(r.json()["items"])]


# Filing


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_any_signed_in_user_objects_under_their_own_name(
    client: TestClient, world: World, role: str
) -> None:
    user = world.role(role)
    assert user is not None
    r = object_to(client, user, world.project.id)
    assert r.status_code == 201, r.text
    data = r.json()
    assert (data["filed_by_id"], data["filed_by_name"]) == (user.id, user.display_name)
    assert (data["status"], data["reason"], data["evidence"]) == (
        "pending",
        OBJECTION["reason"],
        OBJECTION["evidence"],
    )
    assert project_of(client, world)["open_objections"] == 1


def test_anonymous_cannot_object(client: TestClient, world: World) -> None:
    assert_problem(object_to(client, None, world.project.id), 401, "not_authenticated")
    assert project_of(client, world)["open_objections"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "理由"},
        {"evidence": "证据"},
        {"reason": "", "evidence": "证据"},
        {"reason": "理由", "evidence": "  "},
        {**OBJECTION, "filed_by_id": 1},
    ],
)
def test_an_objection_needs_a_reason_and_evidence(
    client: TestClient, world: World, body: dict[str, Any]
) -> None:
    r = client.post(
        f"{API}/projects/{world.project.id}/objections", json=body, headers=headers(world.rival)
    )
    assert_problem(r, 422, "validation_error")


def test_no_objection_after_the_notice_ended(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    move_clock(monkeypatch, world.project.publicity_ends_at + timedelta(seconds=1))
    assert_problem(object_to(client, world.rival, world.project.id), 409, "publicity_ended")
    assert project_of(client, world)["status"] == "signing"


@pytest.mark.parametrize("status", [ProjectStatus.signing, ProjectStatus.in_progress])
def test_no_objection_once_the_project_is_past_its_notice(
    client: TestClient, session: Session, status: ProjectStatus
) -> None:
    world = make_world(session, status=status)
    assert_problem(object_to(client, world.rival, world.project.id), 409, "publicity_ended")


def test_unknown_or_revoked_projects_take_no_objection(
    client: TestClient, session: Session, world: World
) -> None:
    assert_problem(object_to(client, world.rival, 999999), 404, "project_not_found")
    world.project.status = ProjectStatus.revoked
    assert_problem(object_to(client, world.rival, world.project.id), 404, "project_not_found")


def test_filing_tells_the_bureau_and_the_parties_but_not_who_filed(
    client: TestClient, session: Session, world: World
) -> None:
    owner_colleague = make_user(session, organization=world.owner.organization)
    filer = world.rival
    filed(client, filer, world.project.id)
    told = notified(session, NotificationKind.objection_filed)
    assert told == {world.owner.id, owner_colleague.id, world.performer.id, world.bureau.id}
    messages = session.scalars(
        select(Notification.message).where(Notification.kind == NotificationKind.objection_filed)
    ).all()
    for message in messages:
        assert filer.display_name not in message
        assert filer.username not in message


def test_filing_is_audited(client: TestClient, world: World) -> None:
    objection_id = filed(client, world.rival, world.project.id)
    assert audit_actions(client, world, "objection", objection_id) == [
        ("objection.file", None, {"status": "pending"})
    ]


# Reading


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("bureau", ["rival", "other_enterprise"]),
        ("rival", ["rival"]),
        ("other_enterprise", ["other_enterprise"]),
        ("owner", []),
        ("performer", []),
        ("expert", []),
        ("other_expert", []),
    ],
)
def test_the_bureau_reads_every_objection_and_a_filer_their_own(
    client: TestClient, world: World, role: str, sees: list[str]
) -> None:
    ids = {
        "rival": filed(client, world.rival, world.project.id),
        "other_enterprise": filed(client, world.other_enterprise, world.project.id),
    }
    r = client.get(f"{API}/projects/{world.project.id}/objections", headers=auth(world.role(role)))
    assert r.status_code == 200, r.text
    assert [o["id"] for o in r.json()["items"]] == [ids[name] for name in sees]
    assert r.json()["total"] == len(sees)


def test_objection_list_pages_and_refuses_anonymous_and_unknown_projects(
    client: TestClient, world: World
) -> None:
    first, second = (filed(client, world.rival, world.project.id) for _ in range(2))
    url = f"{API}/projects/{world.project.id}/objections"
    page = client.get(url, params={"limit": 1, "offset": 1}, headers=headers(world.rival)).json()
    assert ([o["id"] for o in page["items"]], page["total"]) == ([second], 2)
    assert first < second
    assert_problem(client.get(url), 401, "not_authenticated")
    unknown = client.get(f"{API}/projects/999999/objections", headers=headers(world.bureau))
    assert_problem(unknown, 404, "project_not_found")


# Resolving


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("anonymous", 401, "not_authenticated"),
        ("owner", 403, "role_not_allowed"),
        ("other_enterprise", 403, "role_not_allowed"),
        ("performer", 403, "role_not_allowed"),
        ("rival", 403, "role_not_allowed"),
        ("expert", 403, "role_not_allowed"),
        ("other_expert", 403, "role_not_allowed"),
        ("bureau", 200, None),
    ],
)
def test_only_the_bureau_resolves(
    client: TestClient, world: World, role: str, status: int, code: str | None
) -> None:
    objection_id = filed(client, world.rival, world.project.id)
    r = resolve(client, world.role(role), objection_id)
    if code is not None:
        assert_problem(r, status, code)
        assert project_of(client, world)["open_objections"] == 1
        return
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dismissed"


def test_an_objection_is_resolved_once(client: TestClient, world: World) -> None:
    objection_id = filed(client, world.rival, world.project.id)
    assert resolve(client, world.bureau, objection_id).status_code == 200
    for outcome in ("dismissed", "upheld"):
        r = resolve(client, world.bureau, objection_id, outcome)
        assert_problem(r, 409, "objection_already_resolved")
    assert project_of(client, world)["open_objections"] == 0
    assert project_of(client, world)["status"] == "publicity"


def test_resolving_unknown_objections_or_outcomes(client: TestClient, world: World) -> None:
    assert_problem(resolve(client, world.bureau, 999999), 404, "objection_not_found")
    objection_id = filed(client, world.rival, world.project.id)
    r = resolve(client, world.bureau, objection_id, "maybe")
    assert_problem(r, 422, "validation_error")
    r = client.post(
        f"{API}/objections/{objection_id}/resolve",
        json={"outcome": "dismissed"},
        headers=headers(world.bureau),
    )
    assert_problem(r, 422, "validation_error")


def test_a_dismissal_is_recorded_and_the_filer_told(
    client: TestClient, session: Session, world: World
) -> None:
    objection_id = filed(client, world.rival, world.project.id)
    r = resolve(client, world.bureau, objection_id)
    data = r.json()
    assert (data["status"], data["resolution"], data["resolved_by_id"]) == (
        "dismissed",
        "经核查",
        world.bureau.id,
    )
    assert data["resolved_at"]
    assert audit_actions(client, world, "objection", objection_id)[-1] == (
        "objection.resolve",
        {"status": "pending"},
        {"status": "dismissed"},
    )
    told = notified(session, NotificationKind.objection_resolved)
    assert told == {world.rival.id, world.owner.id, world.performer.id}


# Time


def test_an_ended_notice_reads_as_signing_with_no_process_running(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project_of(client, world)["status"] == "publicity"
    move_clock(monkeypatch, world.project.publicity_ends_at - timedelta(seconds=1))
    assert project_of(client, world)["status"] == "publicity"
    move_clock(monkeypatch, world.project.publicity_ends_at)
    assert project_of(client, world)["status"] == "signing"
    listed = client.get(
        f"{API}/projects", params={"status": "signing"}, headers=headers(world.owner)
    )
    assert [p["id"] for p in listed.json()["items"]] == [world.project.id]
    # A read wrote nothing: no audit event of the end of the notice yet.
    assert audit_actions(client, world, "project", world.project.id) == []


def test_a_pending_objection_holds_the_notice_past_its_end(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (filed(client, world.rival, world.project.id) for _ in range(2))
    move_clock(monkeypatch, world.project.publicity_ends_at + timedelta(days=30))
    assert project_of(client, world)["status"] == "publicity"
    held = client.get(
        f"{API}/projects", params={"status": "publicity"}, headers=headers(world.owner)
    )
    assert [p["id"] for p in held.json()["items"]] == [world.project.id]
    assert resolve(client, world.bureau, first).status_code == 200
    assert project_of(client, world)["status"] == "publicity"  # one still open
    assert resolve(client, world.bureau, second).status_code == 200
    assert project_of(client, world)["status"] == "signing"
    assert audit_actions(client, world, "project", world.project.id) == [
        ("project.publicity_end", {"status": "publicity"}, {"status": "signing"})
    ]


def test_a_dismissal_before_the_end_leaves_the_notice_running(
    client: TestClient, world: World
) -> None:
    objection_id = filed(client, world.rival, world.project.id)
    assert resolve(client, world.bureau, objection_id).status_code == 200
    assert project_of(client, world)["status"] == "publicity"


# Revocation


def test_an_upheld_objection_revokes_the_award(
    client: TestClient, session: Session, world: World
) -> None:
    upheld = filed(client, world.rival, world.project.id)
    other = filed(client, world.other_enterprise, world.project.id)
    r = resolve(client, world.bureau, upheld, "upheld")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "upheld"

    project = project_of(client, world)
    assert (project["status"], project["open_objections"]) == ("revoked", 0)
    assert bid_status(client, world, world.bid.id) == "shortlisted"
    assert bid_status(client, world, world.rival_bid.id) == "submitted"
    session.refresh(world.rival_bid)
    assert world.rival_bid.status_before_award is None
    challenge = client.get(f"{API}/challenges/{world.challenge.id}").json()
    assert (challenge["status"], challenge["project_id"]) == ("closed", None)
    # The other objection has nothing left to object to: closed, with its filer told.
    objections = client.get(
        f"{API}/projects/{world.project.id}/objections", headers=headers(world.bureau)
    ).json()["items"]
    assert [(o["id"], o["status"]) for o in objections] == [
        (upheld, "upheld"),
        (other, "dismissed"),
    ]
    assert "撤销" in objections[1]["resolution"]

    assert audit_actions(client, world, "project", world.project.id) == [
        ("project.revoke", {"status": "publicity"}, {"status": "revoked"})
    ]
    assert audit_actions(client, world, "challenge", world.challenge.id) == [
        ("challenge.revoke_award", {"status": "awarded"}, {"status": "closed"})
    ]
    assert audit_actions(client, world, "bid", world.bid.id) == [
        ("bid.revoke_award", {"status": "awarded"}, {"status": "shortlisted"})
    ]
    assert audit_actions(client, world, "bid", world.rival_bid.id) == [
        ("bid.restore", {"status": "rejected"}, {"status": "submitted"})
    ]
    assert notified(session, NotificationKind.objection_resolved) == {
        world.rival.id,
        world.other_enterprise.id,
    }
    assert notified(session, NotificationKind.award_revoked) == {
        world.owner.id,
        world.performer.id,
        world.rival.id,  # its bid is back in the running
    }


def test_a_filer_still_reads_their_objection_after_the_revocation(
    client: TestClient, world: World
) -> None:
    objection_id = filed(client, world.rival, world.project.id)
    assert resolve(client, world.bureau, objection_id, "upheld").status_code == 200
    r = client.get(f"{API}/projects/{world.project.id}/objections", headers=headers(world.rival))
    assert [(o["id"], o["status"]) for o in r.json()["items"]] == [(objection_id, "upheld")]


def test_upholding_an_objection_to_a_terminated_project_is_refused(
    client: TestClient, world: World
) -> None:
    objection_id = filed(client, world.rival, world.project.id)
    world.project.status = ProjectStatus.terminated
    r = resolve(client, world.bureau, objection_id, "upheld")
    assert_problem(r, 409, "invalid_project_transition")
    assert resolve(client, world.bureau, objection_id, "dismissed").status_code == 200


def test_after_a_revocation_the_next_candidate_is_awarded_a_new_project(
    client: TestClient, session: Session
) -> None:
    owner = make_user(session)
    first = make_user(session, kind=OrganizationKind.university)
    runner_up = make_user(session, kind=OrganizationKind.institute)
    citizen = make_user(session, kind=OrganizationKind.university)
    staff = make_user(session, kind=OrganizationKind.bureau)
    challenge = make_challenge(session, owner=owner)
    bid = make_bid(session, challenge=challenge, bidder=first, status=BidStatus.nominated)
    second_bid = make_bid(
        session, challenge=challenge, bidder=runner_up, status=BidStatus.shortlisted
    )

    award = client.post(f"{API}/bids/{bid.id}/award", headers=headers(staff))
    first_project = award.json()["project_id"]
    assert client.get(f"{API}/challenges/{challenge.id}").json()["project_id"] == first_project
    r = object_to(client, citizen, first_project)
    assert resolve(client, staff, r.json()["id"], "upheld").status_code == 200

    nominate = client.post(f"{API}/bids/{second_bid.id}/nominate", headers=headers(owner))
    assert nominate.status_code == 200, nominate.text
    again = client.post(f"{API}/bids/{second_bid.id}/award", headers=headers(staff))
    assert again.status_code == 200, again.text
    second_project = again.json()["project_id"]
    assert second_project != first_project

    read = client.get(f"{API}/projects/{first_project}", headers=headers(staff)).json()
    assert read["status"] == "revoked"
    read = client.get(f"{API}/projects/{second_project}", headers=headers(staff)).json()
    assert (read["status"], read["bid_id"]) == ("publicity", second_bid.id)
    assert read["performer_organization_id"] == runner_up.organization_id
    challenge_read = client.get(f"{API}/challenges/{challenge.id}").json()
    assert (challenge_read["status"], challenge_read["project_id"]) == ("awarded", second_project)
    # The first bid went back to shortlisted and was rejected by the second award.
    assert client.get(f"{API}/bids/{bid.id}", headers=headers(staff)).json()["status"] == "rejected"
    listed = client.get(f"{API}/projects", headers=headers(staff)).json()
    assert [p["id"] for p in listed["items"]] == [second_project, first_project]


# The way to the notice


def test_the_challenge_read_leads_anyone_to_its_live_project(
    client: TestClient, world: World
) -> None:
    one = client.get(f"{API}/challenges/{world.challenge.id}").json()
    assert one["project_id"] == world.project.id
    listed = client.get(f"{API}/challenges", params={"status": "awarded"}).json()["items"]
    assert [(c["id"], c["project_id"]) for c in listed] == [(world.challenge.id, world.project.id)]


def test_challenges_without_a_project_read_none(client: TestClient, session: Session) -> None:
    challenge = make_challenge(session, owner=make_user(session))
    assert client.get(f"{API}/challenges/{challenge.id}").json()["project_id"] is None


def test_the_challenge_list_finds_projects_in_one_query(
    client: TestClient, session: Session, engine: Engine
) -> None:
    def statements_of_a_list() -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            r = client.get(f"{API}/challenges", params={"status": "awarded"})
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert r.status_code == 200
        return len([s for s in seen if "FROM challenge" in s])

    make_world(session, status=ProjectStatus.publicity)
    one = statements_of_a_list()
    for _ in range(3):
        make_world(session, status=ProjectStatus.publicity)
    assert statements_of_a_list() == one
    r = client.get(f"{API}/challenges", params={"status": "awarded"})
    assert all(c["project_id"] for c in r.json()["items"])
    assert ChallengeStatus.awarded.value == "awarded"


def test_objections_are_stored_under_the_filers_id(
    client: TestClient, session: Session, world: World
) -> None:
    objection_id = filed(client, world.expert, world.project.id)
    stored = session.get(Objection, objection_id)
    assert stored is not None
    assert stored.filed_by_id == world.expert.id
