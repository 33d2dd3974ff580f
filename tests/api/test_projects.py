"""Projects: readable by the two parties and the bureau, listed per organisation."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from app import db
from app.models import BidStatus, OrganizationKind, Project, ProjectStatus, User
from tests.factories import headers, make_bid, make_challenge, make_user
from tests.problems import assert_problem, auth
from tests.project_factories import make_world

API = "/api/v1"


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    owner = make_user(session)
    bidder = make_user(session, kind=OrganizationKind.university)
    return {
        "owner": owner,
        "owner_colleague": make_user(session, organization=owner.organization),
        "bidder": bidder,
        "bidder_colleague": make_user(session, organization=bidder.organization),
        "other_enterprise": make_user(session),
        "rival": make_user(session, kind=OrganizationKind.institute),
        "bureau": make_user(session, kind=OrganizationKind.bureau),
    }


def awarded_project(
    client: TestClient, session: Session, *, owner: User, bidder: User, staff: User
) -> int:
    """A project made the way production makes one: the bureau awards a nominated bid."""
    challenge = make_challenge(session, owner=owner)
    bid = make_bid(session, challenge=challenge, bidder=bidder, status=BidStatus.nominated)
    r = client.post(f"{API}/bids/{bid.id}/award", headers=headers(staff))
    assert r.status_code == 200, r.text
    project_id: int = r.json()["project_id"]
    return project_id


@pytest.fixture
def project_id(client: TestClient, session: Session, people: dict[str, User]) -> int:
    return awarded_project(
        client, session, owner=people["owner"], bidder=people["bidder"], staff=people["bureau"]
    )


@pytest.fixture
def others_project_id(client: TestClient, session: Session, people: dict[str, User]) -> int:
    """A project between the other enterprise and the rival institute."""
    return awarded_project(
        client,
        session,
        owner=people["other_enterprise"],
        bidder=people["rival"],
        staff=people["bureau"],
    )


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("owner", 200, None),
        ("owner_colleague", 200, None),
        ("bidder", 200, None),
        ("bidder_colleague", 200, None),
        ("bureau", 200, None),
        ("rival", 404, "project_not_found"),
        ("other_enterprise", 404, "project_not_found"),
        ("anonymous", 401, "not_authenticated"),
    ],
)
def test_project_is_readable_only_by_its_parties_and_bureau(
    client: TestClient,
    people: dict[str, User],
    project_id: int,
    role: str,
    status: int,
    code: str | None,
) -> None:
    r = client.get(f"{API}/projects/{project_id}", headers=auth(people.get(role)))
    if code is not None:
        assert_problem(r, status, code)
        return
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["id"], data["status"]) == (project_id, "publicity")
    assert {"challenge_id", "bid_id", "budget", "created_at"} <= data.keys()


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("owner", ["mine"]),
        ("bidder_colleague", ["mine"]),
        ("rival", ["others"]),
        ("other_enterprise", ["others"]),
        ("bureau", ["others", "mine"]),
    ],
)
def test_project_list_shows_only_own_projects(
    client: TestClient,
    people: dict[str, User],
    project_id: int,
    others_project_id: int,
    role: str,
    sees: list[str],
) -> None:
    ids = {"mine": project_id, "others": others_project_id}
    r = client.get(f"{API}/projects", headers=auth(people.get(role)))
    assert r.status_code == 200, r.text
    assert [p["id"] for p in r.json()["items"]] == [ids[s] for s in sees]
    assert r.json()["total"] == len(sees)


def test_university_without_projects_sees_none(
    client: TestClient, session: Session, project_id: int
) -> None:
    stranger = make_user(session, kind=OrganizationKind.university)
    r = client.get(f"{API}/projects", headers=headers(stranger))
    assert r.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}
    assert client.get(f"{API}/projects/{project_id}", headers=headers(stranger)).status_code == 404


def test_anonymous_cannot_list_projects(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/projects"), 401, "not_authenticated")


def test_project_list_filters_by_status_and_pages(
    client: TestClient,
    session: Session,
    people: dict[str, User],
    project_id: int,
    others_project_id: int,
) -> None:
    staff = headers(people["bureau"])
    project = session.get(Project, others_project_id)
    assert project is not None
    project.status = ProjectStatus.completed
    in_progress = client.get(f"{API}/projects", params={"status": "publicity"}, headers=staff)
    assert [p["id"] for p in in_progress.json()["items"]] == [project_id]
    completed = client.get(f"{API}/projects", params={"status": "completed"}, headers=staff)
    assert [p["id"] for p in completed.json()["items"]] == [others_project_id]
    bad = client.get(f"{API}/projects", params={"status": "done"}, headers=staff)
    assert_problem(bad, 422, "validation_error")
    page = client.get(f"{API}/projects", params={"limit": 1, "offset": 1}, headers=staff).json()
    assert [p["id"] for p in page["items"]] == [project_id]
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
    too_many = client.get(f"{API}/projects", params={"limit": 101}, headers=staff)
    assert_problem(too_many, 422, "validation_error")


def test_missing_project_is_not_found(client: TestClient, people: dict[str, User]) -> None:
    r = client.get(f"{API}/projects/999999", headers=headers(people["bureau"]))
    assert_problem(r, 404, "project_not_found")


@pytest.mark.parametrize("bad_id", [0, 2**31, 10**30])
def test_out_of_range_project_id_is_invalid_input(
    client: TestClient, people: dict[str, User], bad_id: int
) -> None:
    r = client.get(f"{API}/projects/{bad_id}", headers=headers(people["bureau"]))
    problem = assert_problem(r, 422, "validation_error")
    assert any("project_id" in e["loc"] for e in problem["errors"]), problem


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "projects", {"challenge_id": 1, "bid_id": 1}),
        ("PATCH", "projects/{id}", {"status": "completed"}),
        ("PUT", "projects/{id}", {"status": "completed"}),
        ("DELETE", "projects/{id}", None),
    ],
)
def test_projects_cannot_be_written_directly(
    client: TestClient,
    people: dict[str, User],
    project_id: int,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    staff = headers(people["bureau"])
    url = f"{API}/{path.format(id=project_id)}"
    r = client.request(method, url, json=body, headers=staff)
    assert_problem(r, 405, "method_not_allowed")
    data = client.get(f"{API}/projects/{project_id}", headers=staff).json()
    assert data["status"] == "publicity"


# The project's full read (after the award)


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("anonymous", 401, "not_authenticated"),
        ("owner", 200, None),
        ("other_enterprise", 404, "project_not_found"),
        ("performer", 200, None),
        ("rival", 404, "project_not_found"),
        ("expert", 404, "project_not_found"),
        ("other_expert", 404, "project_not_found"),
        ("bureau", 200, None),
    ],
)
def test_every_role_reads_a_project_as_it_may(
    client: TestClient, session: Session, role: str, status: int, code: str | None
) -> None:
    world = make_world(session)
    r = client.get(f"{API}/projects/{world.project.id}", headers=auth(world.role(role)))
    if code is not None:
        assert_problem(r, status, code)
        return
    assert r.status_code == 200, r.text
    assert r.json()["id"] == world.project.id


def test_the_read_shows_the_agreement_and_its_progress(
    client: TestClient, session: Session
) -> None:
    world = make_world(session, government_funding=Decimal("40"))
    data = client.get(f"{API}/projects/{world.project.id}", headers=headers(world.owner)).json()
    assert data["status"] == "in_progress"
    assert data["indicators"] == [
        {
            "name": "纯度",
            "target": "≥99.99",
            "unit": "%",
            "promised": "≥99.995",
            "measured": None,
            "passed": None,
            "waiver": None,
        }
    ]
    assert data["funding"] == {
        "budget": "90.00",
        "enterprise": "50.00",
        "government": "40.00",
        "disbursed": "0.00",
    }
    assert [m["id"] for m in data["milestones"]] == [m.id for m in world.milestones]
    first = data["milestones"][0]
    assert {"position", "title", "due_date", "status", "deliverable", "submitted_at"} <= set(first)
    assert [(s["party"], s["user_id"]) for s in data["signatures"]] == [
        ("enterprise", world.owner.id),
        ("performer", world.performer.id),
        ("bureau", world.bureau.id),
    ]
    assert data["ip_ownership"] == "成果归双方共有"
    assert data["started_at"]
    assert data["failure_kind"] is None
    assert data["open_objections"] == 0
    for field in (
        "publicity_ends_at",
        "midterm_outcome",
        "midterm_rectify_by",
        "acceptance_requests",
        "rectify_by",
        "acceptance_comment",
        "ended_at",
    ):
        assert field in data


def test_a_replaced_milestone_is_not_in_the_plan(client: TestClient, session: Session) -> None:
    world = make_world(session)
    world.milestones[0].active = False
    data = client.get(f"{API}/projects/{world.project.id}", headers=headers(world.owner)).json()
    assert [m["id"] for m in data["milestones"]] == [world.milestones[1].id]


def test_a_milestone_past_its_date_reads_overdue(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session)
    later = db.utcnow() + timedelta(days=100)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    data = client.get(f"{API}/projects/{world.project.id}", headers=headers(world.owner)).json()
    assert [m["status"] for m in data["milestones"]] == ["overdue", "planned"]


def test_the_project_list_loads_a_page_in_a_fixed_number_of_queries(
    client: TestClient, session: Session, engine: Engine
) -> None:
    staff = make_user(session, kind=OrganizationKind.bureau)

    def statements_of_a_list() -> int:
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            r = client.get(f"{API}/projects", headers=headers(staff))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert r.status_code == 200
        assert all(len(p["milestones"]) == 2 for p in r.json()["items"])
        return len(seen)

    make_world(session)
    one = statements_of_a_list()
    for _ in range(4):
        make_world(session)
    assert statements_of_a_list() == one
