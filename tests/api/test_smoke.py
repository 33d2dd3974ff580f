from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import OrganizationKind
from tests.factories import headers, make_user


def test_full_flow_from_draft_to_award(client: TestClient, session: Session) -> None:
    owner = make_user(session)
    staff = make_user(session, kind=OrganizationKind.bureau)
    univ = make_user(session, kind=OrganizationKind.university)
    body = {
        "title": "坩埚",
        "description": "描述",
        "indicators": [],
        "sector": "industry",
        "budget": "10.5",
        "deadline": "2099-01-01T00:00:00+08:00",
        "region": "211302",
        "tags": [],
    }
    r = client.post("/api/v1/challenges", json=body, headers=headers(owner))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["budget"] == "10.50"
    assert (
        client.post(f"/api/v1/challenges/{cid}/submit", headers=headers(owner)).status_code == 200
    )
    assert (
        client.post(f"/api/v1/challenges/{cid}/approve", headers=headers(staff)).status_code == 200
    )
    bid = {
        "approach": "方案",
        "team": "团队",
        "budget": "9",
        "duration_months": 6,
        "milestones": [],
    }
    r = client.post(f"/api/v1/challenges/{cid}/bids", json=bid, headers=headers(univ))
    assert r.status_code == 201, r.text
    bid_id = r.json()["id"]
    assert client.post(f"/api/v1/bids/{bid_id}/nominate", headers=headers(owner)).status_code == 200
    r = client.post(f"/api/v1/bids/{bid_id}/award", headers=headers(staff))
    assert r.status_code == 200, r.text
    assert r.json()["project_id"]
