"""Notifications: each event reaches exactly the users it concerns, in the change's transaction.

The recipients are asserted as sets: the actor, rival bidders, experts affiliated with an
organisation and other organisations never hear of it. A refused change leaves no notification.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db
from app.errors import Conflict
from app.models import (
    Bid,
    BidStatus,
    ChallengeStatus,
    Notification,
    NotificationKind,
    OrganizationKind,
    Role,
    User,
)
from app.schemas.bid import BidCreate
from app.services import bids
from app.services.notifications import notify
from tests.factories import headers, make_bid, make_challenge, make_user
from tests.problems import assert_problem

API = "/api/v1"
K = NotificationKind
BID: dict[str, Any] = {
    "approach": "采用化学气相沉积法制备高纯热解氮化硼。",
    "team": "王教授团队，12 人",
    "budget": "80",
    "duration_months": 12,
}
if "indicators" in BidCreate.model_fields:  # bids promise each indicator once that exists
    BID["indicators"] = [{"name": "纯度", "promised": "≥99.995"}]


@dataclass
class Cast:
    owner: User
    colleague: User  # another enterprise user of the owner
    owner_expert: User  # an expert affiliated with the owner: hears nothing through it
    other_enterprise: User
    bidder: User
    bidder_colleague: User
    bidder_expert: User
    rival: User
    bureau: User
    bureau_colleague: User
    outside_expert: User

    def everyone(self) -> set[int]:
        return {user.id for user in vars(self).values()}


@pytest.fixture
def cast(session: Session) -> Cast:
    owner = make_user(session, kind=OrganizationKind.enterprise)
    bidder = make_user(session, kind=OrganizationKind.university)
    bureau = make_user(session, kind=OrganizationKind.bureau)
    return Cast(
        owner=owner,
        colleague=make_user(session, organization=owner.organization),
        owner_expert=make_user(session, organization=owner.organization, role=Role.expert),
        other_enterprise=make_user(session, kind=OrganizationKind.enterprise),
        bidder=bidder,
        bidder_colleague=make_user(session, organization=bidder.organization),
        bidder_expert=make_user(session, organization=bidder.organization, role=Role.expert),
        rival=make_user(session, kind=OrganizationKind.institute),
        bureau=bureau,
        bureau_colleague=make_user(session, organization=bureau.organization),
        outside_expert=make_user(session, kind=OrganizationKind.bureau, role=Role.expert),
    )


def told(session: Session, kind: NotificationKind, object_type: str, object_id: int) -> set[int]:
    """Who got a notification of this kind about this object."""
    stmt = select(Notification.user_id).where(
        Notification.kind == kind,
        Notification.object_type == object_type,
        Notification.object_id == object_id,
    )
    return set(session.scalars(stmt))


def messages(session: Session, kind: NotificationKind, object_id: int) -> set[str]:
    stmt = select(Notification.message).where(
        Notification.kind == kind, Notification.object_id == object_id
    )
    return set(session.scalars(stmt))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Notification)) or 0


def ids(*users: User) -> set[int]:
    return {user.id for user in users}


def post(client: TestClient, path: str, user: User, body: Any = None) -> Any:
    return client.post(f"{API}{path}", headers=headers(user), json=body)


# The challenge's life cycle


def test_a_submitted_challenge_tells_the_bureau_only(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=ChallengeStatus.draft)
    r = post(client, f"/challenges/{challenge.id}/submit", cast.owner)
    assert r.status_code == 200, r.text
    assert told(session, K.challenge_submitted, "challenge", challenge.id) == ids(
        cast.bureau, cast.bureau_colleague
    )
    assert messages(session, K.challenge_submitted, challenge.id) == {
        f"榜单“{challenge.title}”已提交审核，请审核"
    }


def test_a_published_challenge_tells_the_owners_staff_not_its_expert_nor_the_bureau(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=ChallengeStatus.pending_review)
    r = post(client, f"/challenges/{challenge.id}/approve", cast.bureau)
    assert r.status_code == 200, r.text
    assert told(session, K.challenge_published, "challenge", challenge.id) == ids(
        cast.owner, cast.colleague
    )
    (message,) = messages(session, K.challenge_published, challenge.id)
    assert challenge.title in message


def test_a_returned_challenge_tells_the_owners_staff_with_the_reason(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=ChallengeStatus.pending_review)
    r = post(client, f"/challenges/{challenge.id}/return", cast.bureau, {"reason": "预算依据不足"})
    assert r.status_code == 200, r.text
    assert told(session, K.challenge_returned, "challenge", challenge.id) == ids(
        cast.owner, cast.colleague
    )
    (message,) = messages(session, K.challenge_returned, challenge.id)
    assert challenge.title in message
    assert "预算依据不足" in message


def test_a_refused_submission_or_review_notifies_nobody(
    client: TestClient, session: Session, cast: Cast
) -> None:
    draft = make_challenge(session, owner=cast.owner, status=ChallengeStatus.draft)
    published = make_challenge(session, owner=cast.owner)
    before = count(session)
    assert_problem(
        post(client, f"/challenges/{draft.id}/submit", cast.other_enterprise),
        404,
        "challenge_not_found",
    )
    assert_problem(
        post(client, f"/challenges/{published.id}/submit", cast.owner), 409, "invalid_transition"
    )
    assert_problem(
        post(client, f"/challenges/{published.id}/approve", cast.bureau), 409, "invalid_transition"
    )
    r = post(client, f"/challenges/{draft.id}/return", cast.bureau, {"reason": ""})
    assert r.status_code == 422
    assert count(session) == before


def test_a_challenge_approved_past_its_deadline_is_refused_and_notifies_nobody(
    client: TestClient, session: Session, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=ChallengeStatus.pending_review)
    later = db.utcnow() + timedelta(days=31)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    before = count(session)
    r = post(client, f"/challenges/{challenge.id}/approve", cast.bureau)
    assert_problem(r, 409, "deadline_passed")
    assert count(session) == before


def test_a_cancelled_challenge_tells_each_live_bidder_of_its_rejection(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner)
    bid = make_bid(session, challenge=challenge, bidder=cast.bidder)
    rival_bid = make_bid(session, challenge=challenge, bidder=cast.rival)
    r = post(client, f"/challenges/{challenge.id}/cancel", cast.bureau, {"reason": "需求变更"})
    assert r.status_code == 200, r.text
    assert told(session, K.bid_rejected, "bid", bid.id) == ids(cast.bidder, cast.bidder_colleague)
    assert told(session, K.bid_rejected, "bid", rival_bid.id) == ids(cast.rival)


# Bids


def test_a_bid_received_tells_the_owners_staff_only(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner)
    make_bid(session, challenge=challenge, bidder=cast.rival)  # a rival bid already there
    r = post(client, f"/challenges/{challenge.id}/bids", cast.bidder, BID)
    assert r.status_code == 201, r.text
    bid_id = r.json()["id"]
    # Not the bidder and its colleagues, not the rival, not the owner's expert, not the bureau.
    assert told(session, K.bid_received, "bid", bid_id) == ids(cast.owner, cast.colleague)
    (message,) = messages(session, K.bid_received, bid_id)
    assert challenge.title in message
    assert set(session.scalars(select(Notification.user_id))) <= ids(cast.owner, cast.colleague)


def test_a_refused_bid_notifies_nobody(client: TestClient, session: Session, cast: Cast) -> None:
    challenge = make_challenge(session, owner=cast.owner)
    make_bid(session, challenge=challenge, bidder=cast.bidder)
    closed = make_challenge(session, owner=cast.owner, status=ChallengeStatus.closed)
    before = count(session)
    r = post(client, f"/challenges/{challenge.id}/bids", cast.bidder, BID)
    assert_problem(r, 409, "duplicate_bid")
    r = post(client, f"/challenges/{closed.id}/bids", cast.rival, BID)
    assert_problem(r, 409, "bidding_closed")
    r = post(client, f"/challenges/{challenge.id}/bids", cast.rival, {**BID, "budget": "-1"})
    assert r.status_code == 422
    assert count(session) == before


@pytest.mark.parametrize(
    ("action", "kind", "body"),
    [
        ("shortlist", K.bid_shortlisted, None),
        ("reject", K.bid_rejected, {"reason": "技术路线不成熟"}),
        ("nominate", K.bid_nominated, None),
    ],
)
def test_an_owners_decision_tells_the_bidders_staff_not_the_rival(
    client: TestClient,
    session: Session,
    cast: Cast,
    action: str,
    kind: NotificationKind,
    body: dict[str, str] | None,
) -> None:
    challenge = make_challenge(session, owner=cast.owner)
    bid = make_bid(session, challenge=challenge, bidder=cast.bidder)
    rival_bid = make_bid(session, challenge=challenge, bidder=cast.rival)
    r = post(client, f"/bids/{bid.id}/{action}", cast.owner, body)
    assert r.status_code == 200, r.text
    bidder_side = ids(cast.bidder, cast.bidder_colleague)
    expected = bidder_side | (
        ids(cast.bureau, cast.bureau_colleague) if action == "nominate" else set()
    )
    assert told(session, kind, "bid", bid.id) == expected
    assert told(session, kind, "bid", rival_bid.id) == set()
    everyone_told = set(session.scalars(select(Notification.user_id)))
    assert cast.rival.id not in everyone_told
    assert cast.owner.id not in everyone_told  # the actor
    assert cast.bidder_expert.id not in everyone_told
    for message in messages(session, kind, bid.id):
        assert challenge.title in message
    if action == "reject":
        assert any("技术路线不成熟" in m for m in messages(session, kind, bid.id))


def test_a_nomination_tells_the_bureau_that_it_must_approve(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner)
    bid = make_bid(session, challenge=challenge, bidder=cast.bidder)
    assert post(client, f"/bids/{bid.id}/nominate", cast.owner).status_code == 200
    stmt = select(Notification.user_id, Notification.message).where(
        Notification.kind == K.bid_nominated, Notification.object_id == bid.id
    )
    bureau_messages = {m for u, m in session.execute(stmt) if u == cast.bureau.id}
    assert bureau_messages == {f"榜单“{challenge.title}”的发榜单位已提名一份申报，请审批授榜"}


def test_a_refused_decision_notifies_nobody(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner)
    bid = make_bid(session, challenge=challenge, bidder=cast.bidder)
    make_bid(session, challenge=challenge, bidder=cast.rival, status=BidStatus.nominated)
    shortlisted = make_bid(
        session,
        challenge=make_challenge(session, owner=cast.owner),
        bidder=cast.bidder,
        status=BidStatus.shortlisted,
    )
    before = count(session)
    assert_problem(post(client, f"/bids/{bid.id}/nominate", cast.owner), 409, "already_nominated")
    assert_problem(
        post(client, f"/bids/{shortlisted.id}/shortlist", cast.owner), 409, "invalid_transition"
    )
    assert_problem(
        post(client, f"/bids/{bid.id}/shortlist", cast.other_enterprise), 404, "bid_not_found"
    )
    assert_problem(
        post(client, f"/bids/{bid.id}/reject", cast.owner, {"reason": "x" * 10_001}),
        422,
        "validation_error",
    )
    assert count(session) == before


# Reading one's notifications


def _give(session: Session, user: User, n: int, kind: NotificationKind = K.bid_received) -> None:
    for i in range(n):
        notify(
            session,
            kind=kind,
            object_type="bid",
            object_id=i + 1,
            message=f"第{i + 1}条",
            actor=None,
            users=[user.id],
        )
    session.flush()


def test_anonymous_users_get_401_on_every_notification_route(client: TestClient) -> None:
    for method, path in (
        ("GET", "/notifications"),
        ("POST", "/notifications/1/read"),
        ("POST", "/notifications/read-all"),
        ("GET", "/me/upcoming"),
    ):
        assert_problem(client.request(method, f"{API}{path}"), 401, "not_authenticated")


def test_the_list_shows_ones_own_newest_first_paged_with_the_unread_count(
    client: TestClient, session: Session, cast: Cast
) -> None:
    _give(session, cast.owner, 3)
    _give(session, cast.rival, 2)
    r = client.get(f"{API}/notifications", params={"limit": 2}, headers=headers(cast.owner))
    assert r.status_code == 200, r.text
    page = r.json()
    assert [n["message"] for n in page["items"]] == ["第3条", "第2条"]
    assert (page["total"], page["limit"], page["offset"], page["unread"]) == (3, 2, 0, 3)
    item = page["items"][0]
    assert set(item) == {
        "id",
        "kind",
        "object_type",
        "object_id",
        "message",
        "created_at",
        "read_at",
    }
    assert (item["kind"], item["object_type"], item["object_id"], item["read_at"]) == (
        "bid_received",
        "bid",
        3,
        None,
    )
    r = client.get(f"{API}/notifications", params={"offset": 2}, headers=headers(cast.owner))
    assert [n["message"] for n in r.json()["items"]] == ["第1条"]


def test_reading_marks_once_and_the_unread_filter_follows(
    client: TestClient, session: Session, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    _give(session, cast.owner, 2)
    first, second = client.get(f"{API}/notifications", headers=headers(cast.owner)).json()["items"]
    r = post(client, f"/notifications/{first['id']}/read", cast.owner)
    assert r.status_code == 200, r.text
    read_at = r.json()["read_at"]
    assert read_at is not None
    assert {k: v for k, v in r.json().items() if k != "read_at"} == {
        k: v for k, v in first.items() if k != "read_at"
    }
    later = db.utcnow() + timedelta(hours=1)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    again = post(client, f"/notifications/{first['id']}/read", cast.owner)
    assert again.status_code == 200
    assert again.json()["read_at"] == read_at  # the first time is kept

    unread = client.get(f"{API}/notifications?unread=true", headers=headers(cast.owner)).json()
    assert [n["id"] for n in unread["items"]] == [second["id"]]
    assert (unread["total"], unread["unread"]) == (1, 1)
    everything = client.get(f"{API}/notifications", headers=headers(cast.owner)).json()
    assert (everything["total"], everything["unread"]) == (2, 1)


def test_another_users_notification_is_404_and_stays_unread(
    client: TestClient, session: Session, cast: Cast
) -> None:
    _give(session, cast.owner, 1)
    (item,) = client.get(f"{API}/notifications", headers=headers(cast.owner)).json()["items"]
    for intruder in (cast.colleague, cast.bureau, cast.rival):
        r = post(client, f"/notifications/{item['id']}/read", intruder)
        assert_problem(r, 404, "notification_not_found")
        assert client.get(f"{API}/notifications", headers=headers(intruder)).json()["total"] == 0
    assert_problem(
        post(client, "/notifications/999999/read", cast.owner), 404, "notification_not_found"
    )
    assert post(client, "/notifications/0/read", cast.owner).status_code == 422
    (still,) = client.get(f"{API}/notifications", headers=headers(cast.owner)).json()["items"]
    assert still["read_at"] is None


def test_read_all_marks_only_ones_own(client: TestClient, session: Session, cast: Cast) -> None:
    _give(session, cast.owner, 3)
    _give(session, cast.rival, 1)
    r = post(client, "/notifications/read-all", cast.owner)
    assert (r.status_code, r.json()) == (200, {"read": 3})
    assert post(client, "/notifications/read-all", cast.owner).json() == {"read": 0}
    mine = client.get(f"{API}/notifications", headers=headers(cast.owner)).json()
    assert mine["unread"] == 0
    assert all(n["read_at"] for n in mine["items"])
    theirs = client.get(f"{API}/notifications", headers=headers(cast.rival)).json()
    assert theirs["unread"] == 1


def test_the_notification_routes_answer_every_role(
    client: TestClient, session: Session, cast: Cast
) -> None:
    for user in (cast.owner, cast.bidder, cast.rival, cast.bureau, cast.outside_expert):
        r = client.get(f"{API}/notifications", headers=headers(user))
        assert r.status_code == 200, r.text
        assert r.json()["items"] == []


def test_the_actor_is_never_told_and_experts_never_through_their_organisation(
    session: Session, cast: Cast
) -> None:
    made = notify(
        session,
        kind=K.bid_received,
        object_type="bid",
        object_id=1,
        message="x",
        actor=cast.owner,
        organizations=[cast.owner.organization_id],
        users=[cast.outside_expert.id],
    )
    # An expert named in person hears of it; one reached only through the organisation does not.
    assert {n.user_id for n in made} == ids(cast.colleague, cast.outside_expert)


def test_a_change_that_fails_after_notifying_rolls_its_notifications_back(
    client: TestClient, session: Session, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    def notify_then_fail(*args: Any, **kwargs: Any) -> list[Notification]:
        notify(*args, **kwargs)
        session.flush()  # the rows are written inside the request's transaction
        raise Conflict("并发修改，请重试")

    monkeypatch.setattr(bids, "notify", notify_then_fail)
    challenge = make_challenge(session, owner=cast.owner)
    before = count(session)
    r = post(client, f"/challenges/{challenge.id}/bids", cast.bidder, BID)
    assert_problem(r, 409, "conflict")
    assert count(session) == before
    assert session.scalar(select(func.count()).select_from(Bid)) == 0
