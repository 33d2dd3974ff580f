"""Who hears of an award's rejections and of an expert's assignment, and who does not."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import BidStatus, Notification, NotificationKind, OrganizationKind
from tests.factories import PASSWORD, headers, make_bid, make_challenge, make_user

API = "/api/v1"


def told(session: Session, kind: NotificationKind) -> set[int]:
    return set(session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def test_the_award_tells_the_bidders_it_rejects(client: TestClient, session: Session) -> None:
    owner = make_user(session, kind=OrganizationKind.enterprise)
    winner = make_user(session, kind=OrganizationKind.university)
    rival = make_user(session, kind=OrganizationKind.institute)
    rival_colleague = make_user(session, organization=rival.organization)
    withdrawn = make_user(session, kind=OrganizationKind.university)
    bureau = make_user(session, kind=OrganizationKind.bureau)
    challenge = make_challenge(session, owner=owner)
    bid = make_bid(session, challenge=challenge, bidder=winner, status=BidStatus.nominated)
    make_bid(session, challenge=challenge, bidder=rival, status=BidStatus.shortlisted)
    make_bid(session, challenge=challenge, bidder=withdrawn, status=BidStatus.withdrawn)
    r = client.post(f"{API}/bids/{bid.id}/award", headers=headers(bureau))
    assert r.status_code == 200, r.text
    assert told(session, NotificationKind.bid_rejected) == {rival.id, rival_colleague.id}


def test_a_failed_award_tells_nobody(client: TestClient, session: Session) -> None:
    owner = make_user(session, kind=OrganizationKind.enterprise)
    rival = make_user(session, kind=OrganizationKind.institute)
    bureau = make_user(session, kind=OrganizationKind.bureau)
    challenge = make_challenge(session, owner=owner)
    bid = make_bid(
        session, challenge=challenge, bidder=make_user(session, kind=OrganizationKind.university)
    )
    make_bid(session, challenge=challenge, bidder=rival)
    r = client.post(f"{API}/bids/{bid.id}/award", headers=headers(bureau))  # not nominated
    assert r.status_code == 409, r.text
    assert told(session, NotificationKind.bid_rejected) == set()


def test_an_assigned_expert_is_told_and_nobody_else(client: TestClient, session: Session) -> None:
    owner = make_user(session, kind=OrganizationKind.enterprise)
    bureau = make_user(session, kind=OrganizationKind.bureau)
    challenge = make_challenge(session, owner=owner)
    body = {
        "username": "expert_notified",
        "password": PASSWORD,
        "display_name": "钱专家",
        "organization_id": None,
        "fields": ["材料"],
    }
    expert = client.post(f"{API}/experts", json=body, headers=headers(bureau)).json()
    r = client.post(
        f"{API}/challenges/{challenge.id}/reviewers",
        json={"expert_id": expert["id"]},
        headers=headers(bureau),
    )
    assert r.status_code == 201, r.text
    assert told(session, NotificationKind.review_assigned) == {expert["id"]}
    again = client.post(
        f"{API}/challenges/{challenge.id}/reviewers",
        json={"expert_id": expert["id"]},
        headers=headers(bureau),
    )
    assert again.status_code == 409
    [notification] = session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.review_assigned)
    ).all()
    assert (notification.object_type, notification.object_id) == ("challenge", challenge.id)
