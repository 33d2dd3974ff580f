"""The experts assigned to a project's challenge read the project; they act on none of it."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import AssignmentStatus, ExpertProfile, ReviewAssignment
from tests.problems import assert_problem, auth
from tests.project_factories import World, make_world

API = "/api/v1"


def assign(session: Session, world: World, *, status: AssignmentStatus) -> None:
    expert = world.expert
    session.add(ExpertProfile(user_id=expert.id, fields=["材料"], created_by_id=world.bureau.id))
    session.add(
        ReviewAssignment(
            challenge_id=world.challenge.id,
            expert_id=expert.id,
            status=status,
            assigned_by_id=world.bureau.id,
        )
    )
    session.flush()


@pytest.mark.parametrize(
    "path", ["", "/milestones", "/reports", "/disbursements", "/change-requests"]
)
def test_an_assigned_expert_reads_the_project_and_its_records(
    client: TestClient, session: Session, path: str
) -> None:
    world = make_world(session)
    assign(session, world, status=AssignmentStatus.active)
    r = client.get(f"{API}/projects/{world.project.id}{path}", headers=auth(world.expert))
    assert r.status_code == 200, r.text
    other = client.get(f"{API}/projects/{world.project.id}{path}", headers=auth(world.other_expert))
    assert_problem(other, 404, "project_not_found")


def test_an_assigned_expert_lists_the_project(client: TestClient, session: Session) -> None:
    world = make_world(session)
    make_world(session)  # a project of a challenge the expert does not review
    assign(session, world, status=AssignmentStatus.active)
    r = client.get(f"{API}/projects", headers=auth(world.expert))
    assert [p["id"] for p in r.json()["items"]] == [world.project.id]
    assert client.get(f"{API}/projects", headers=auth(world.other_expert)).json()["total"] == 0


def test_a_recused_expert_no_longer_reads_the_project(client: TestClient, session: Session) -> None:
    world = make_world(session)
    assign(session, world, status=AssignmentStatus.recused)
    r = client.get(f"{API}/projects/{world.project.id}", headers=auth(world.expert))
    assert_problem(r, 404, "project_not_found")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/sign", None),
        ("/reports", {"period": "2027-Q1", "summary": "进展顺利", "spent": "10.00"}),
        ("/acceptance-request", None),
        ("/terminate", {"reason": "专家无权终止"}),
    ],
)
def test_an_assigned_expert_acts_on_nothing(
    client: TestClient, session: Session, path: str, body: dict[str, str] | None
) -> None:
    world = make_world(session)
    assign(session, world, status=AssignmentStatus.active)
    r = client.post(
        f"{API}/projects/{world.project.id}{path}", json=body, headers=auth(world.expert)
    )
    assert r.status_code == 403, r.text
