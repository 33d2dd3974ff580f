"""Experts (评审专家): the bureau appoints them; they belong to their affiliation or to none."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import ChallengeStatus, OrganizationKind, User
from tests.factories import (
    PASSWORD,
    assign_expert,
    headers,
    make_bid,
    make_challenge,
    make_expert,
    make_user,
)
from tests.problems import assert_problem, auth

API = "/api/v1"


@pytest.fixture
def bureau(session: Session) -> User:
    return make_user(session, kind=OrganizationKind.bureau)


def body(username: str = "expert_wang", **extra: Any) -> dict[str, Any]:
    return {
        "username": username,
        "password": PASSWORD,
        "display_name": "王专家",
        "organization_id": None,
        "fields": ["半导体材料", "热解氮化硼"],
        **extra,
    }


def sign_in(client: TestClient, username: str) -> dict[str, str]:
    r = client.post(f"{API}/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_bureau_appoints_an_independent_expert_who_signs_in(
    client: TestClient, bureau: User
) -> None:
    r = client.post(f"{API}/experts", json=body(), headers=headers(bureau))
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["role"] == "expert"
    assert data["organization_id"] is None
    assert data["fields"] == ["半导体材料", "热解氮化硼"]
    assert data["username"] == "expert_wang"
    assert "password" not in data
    assert "password_hash" not in data
    me = client.get(f"{API}/users/me", headers=sign_in(client, "expert_wang")).json()
    assert (me["id"], me["role"], me["organization_id"]) == (data["id"], "expert", None)


def test_an_affiliated_experts_organization_is_the_affiliation_but_home_is_the_bureau(
    client: TestClient, session: Session, bureau: User
) -> None:
    university = make_user(session, kind=OrganizationKind.university)
    r = client.post(
        f"{API}/experts",
        json=body(organization_id=university.organization_id),
        headers=headers(bureau),
    )
    assert r.status_code == 201, r.text
    assert r.json()["organization_id"] == university.organization_id
    me = client.get(f"{API}/users/me", headers=sign_in(client, "expert_wang")).json()
    assert me["organization_id"] == university.organization_id
    stored = session.get(User, r.json()["id"])
    assert stored is not None
    assert stored.organization_id == bureau.organization_id


def test_an_affiliated_expert_reads_no_bid_or_draft_of_the_affiliation(
    client: TestClient, session: Session, bureau: User
) -> None:
    owner = make_user(session)
    university = make_user(session, kind=OrganizationKind.university)
    challenge = make_challenge(session, owner=owner)
    bid = make_bid(session, challenge=challenge, bidder=university)
    draft = make_challenge(session, owner=owner, status=ChallengeStatus.draft)
    of_university = make_expert(session, bureau=bureau, affiliation=university.organization)
    of_owner = make_expert(session, bureau=bureau, affiliation=owner.organization)
    assert client.get(f"{API}/bids/{bid.id}", headers=headers(of_university)).status_code == 404
    r = client.get(f"{API}/challenges/{draft.id}", headers=headers(of_owner))
    assert_problem(r, 404, "challenge_not_found")


def test_appointing_an_expert_is_audited(client: TestClient, bureau: User) -> None:
    created = client.post(f"{API}/experts", json=body(), headers=headers(bureau)).json()
    events = client.get(
        f"{API}/audit-events",
        params={"object_type": "user", "object_id": created["id"]},
        headers=headers(bureau),
    ).json()["items"]
    assert [(e["action"], e["actor_id"]) for e in events] == [("user.create_expert", bureau.id)]


def test_an_affiliation_that_does_not_exist_is_refused(client: TestClient, bureau: User) -> None:
    r = client.post(f"{API}/experts", json=body(organization_id=999999), headers=headers(bureau))
    problem = assert_problem(r, 422, "unknown_organization")
    assert problem["errors"][0]["loc"] == ["body", "organization_id"]


def test_the_bureau_is_no_affiliation(client: TestClient, bureau: User) -> None:
    r = client.post(
        f"{API}/experts",
        json=body(organization_id=bureau.organization_id),
        headers=headers(bureau),
    )
    assert_problem(r, 422, "unknown_organization")


@pytest.mark.parametrize("password", ["password123", "expert_wang-2026"])
def test_a_weak_password_is_refused_as_at_registration(
    client: TestClient, bureau: User, password: str
) -> None:
    r = client.post(f"{API}/experts", json=body(password=password), headers=headers(bureau))
    problem = assert_problem(r, 422, "weak_password")
    assert problem["errors"][0]["loc"] == ["body", "password"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "short"}, "password"),
        ({"username": "a"}, "username"),
        ({"display_name": ""}, "display_name"),
        ({"fields": ["x" * 31]}, "fields"),
        ({"role": "bureau"}, "role"),
        ({"organization_id": 0}, "organization_id"),
    ],
)
def test_invalid_expert_fields_are_422(
    client: TestClient, bureau: User, change: dict[str, Any], field: str
) -> None:
    r = client.post(f"{API}/experts", json=body(**change), headers=headers(bureau))
    problem = assert_problem(r, 422, "validation_error")
    assert any(field in e["loc"] for e in problem["errors"]), problem["errors"]


def test_a_username_in_use_is_409(client: TestClient, session: Session, bureau: User) -> None:
    taken = make_user(session)
    r = client.post(f"{API}/experts", json=body(username=taken.username), headers=headers(bureau))
    assert_problem(r, 409, "username_taken")


def test_experts_are_listed_oldest_first_in_pages(
    client: TestClient, session: Session, bureau: User
) -> None:
    university = make_user(session, kind=OrganizationKind.university)
    first = make_expert(session, bureau=bureau)
    second = make_expert(session, bureau=bureau, affiliation=university.organization)
    r = client.get(f"{API}/experts", params={"limit": 1, "offset": 1}, headers=headers(bureau))
    assert r.status_code == 200, r.text
    page = r.json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
    [item] = page["items"]
    assert (item["id"], item["organization_id"]) == (second.id, university.organization_id)
    everyone = client.get(f"{API}/experts", headers=headers(bureau)).json()["items"]
    assert [e["id"] for e in everyone] == [first.id, second.id]
    assert everyone[0]["organization_id"] is None


ROLES = [
    "anonymous",
    "owner",
    "other_enterprise",
    "bidder",
    "rival",
    "assigned_expert",
    "unassigned_expert",
    "bureau",
]


def cast_user(session: Session, bureau: User, role: str) -> User | None:
    owner = make_user(session)
    challenge = make_challenge(session, owner=owner)
    bidder = make_user(session, kind=OrganizationKind.university)
    make_bid(session, challenge=challenge, bidder=bidder)
    expert = make_expert(session, bureau=bureau)
    assign_expert(session, challenge=challenge, expert=expert)
    users: dict[str, User | None] = {
        "anonymous": None,
        "owner": owner,
        "other_enterprise": make_user(session),
        "bidder": bidder,
        "rival": make_user(session, kind=OrganizationKind.university),
        "assigned_expert": expert,
        "unassigned_expert": make_expert(session, bureau=bureau),
        "bureau": bureau,
    }
    return users[role]


@pytest.mark.parametrize("role", ROLES)
def test_only_the_bureau_creates_and_lists_experts(
    client: TestClient, session: Session, bureau: User, role: str
) -> None:
    user = cast_user(session, bureau, role)
    expected = {"anonymous": (401, 401), "bureau": (201, 200)}.get(role, (403, 403))
    created = client.post(f"{API}/experts", json=body(), headers=auth(user))
    listed = client.get(f"{API}/experts", headers=auth(user))
    assert (created.status_code, listed.status_code) == expected, (created.text, listed.text)
