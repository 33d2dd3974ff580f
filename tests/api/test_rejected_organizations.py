"""A rejected organisation stops acting: the bureau withdraws its verification, it only reads."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import AppError
from app.models import (
    Bid,
    BidStatus,
    Capability,
    Challenge,
    ChallengeStatus,
    OrganizationKind,
    Project,
    Result,
    Role,
    User,
)
from app.schemas.challenge import ChallengeUpdate
from app.schemas.offering import CapabilityCreate, CapabilityUpdate
from app.services import bids, challenges, offerings
from tests.factories import (
    PROMISES,
    headers,
    make_bid,
    make_capability,
    make_challenge,
    make_result,
    make_user,
)
from tests.problems import assert_problem

API = "/api/v1"
B = BidStatus
S = ChallengeStatus
CHALLENGE = {
    "title": "高纯热解氮化硼坩埚制备工艺",
    "description": "现有坩埚纯度不足，需要化学气相沉积工艺优化。",
    "indicators": [{"name": "纯度", "target": "≥99.99", "unit": "%"}],
    "sector": "industry",
    "budget": "120.00",
    "deadline": "2099-01-01T00:00:00+08:00",
    "region": "211302",
    "tags": ["热解氮化硼"],
}
BID = {
    "approach": "化学气相沉积",
    "team": "王教授团队",
    "budget": "90",
    "duration_months": 12,
    "indicators": PROMISES,
}
CAPABILITY = {"title": "先进陶瓷材料团队", "description": "氮化硼制备。", "tags": ["陶瓷"]}
RESULT = {**CAPABILITY, "maturity": "pilot", "transfer_mode": "licence", "patents": []}
PREVIEW = {"text": "热解氮化硼坩埚化学气相沉积", "target": "capabilities"}


@dataclass
class Cast:
    """An enterprise with challenges in each state, two bidders, an expert and the bureau."""

    bureau: User
    owner: User
    university: User
    institute: User
    expert: User
    draft: Challenge
    pending: Challenge
    published: Challenge
    other_published: Challenge
    submitted_bid: Bid
    nominated_bid: Bid
    university_bid: Bid
    capability: Capability
    result: Result


@pytest.fixture
def cast(session: Session) -> Cast:
    owner = make_user(session)
    other_owner = make_user(session)
    university = make_user(session, kind=OrganizationKind.university)
    institute = make_user(session, kind=OrganizationKind.institute)
    published = make_challenge(session, owner=owner)
    other_published = make_challenge(session, owner=other_owner)
    cast = Cast(
        bureau=make_user(session, kind=OrganizationKind.bureau),
        owner=owner,
        university=university,
        institute=institute,
        expert=make_user(session, kind=OrganizationKind.university, role=Role.expert),
        draft=make_challenge(session, owner=owner, status=S.draft),
        pending=make_challenge(session, owner=owner, status=S.pending_review),
        published=published,
        other_published=other_published,
        submitted_bid=make_bid(session, challenge=published, bidder=university),
        nominated_bid=make_bid(session, challenge=published, bidder=institute, status=B.nominated),
        university_bid=make_bid(session, challenge=other_published, bidder=university),
        capability=make_capability(session, owner=university),
        result=make_result(session, owner=university),
    )
    session.commit()
    return cast


def reject(client: TestClient, cast: Cast, user: User) -> None:
    """The bureau rejects the user's (verified) organisation over HTTP."""
    r = client.post(
        f"{API}/organizations/{user.organization_id}/reject",
        json={"reason": "资质材料造假"},
        headers=headers(cast.bureau),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected"


def verify(client: TestClient, cast: Cast, user: User) -> None:
    r = client.post(
        f"{API}/organizations/{user.organization_id}/verify", headers=headers(cast.bureau)
    )
    assert r.status_code == 200, r.text


# --- every write of a rejected organisation's user is refused; reads still work --------------


@pytest.mark.parametrize("role", ["owner", "university", "institute", "expert"])
def test_rejected_organisations_old_token_still_reads_but_no_longer_writes(
    client: TestClient, cast: Cast, role: str
) -> None:
    user: User = getattr(cast, role)
    token = headers(user)  # minted while the organisation was verified
    assert client.post(f"{API}/matching/preview", json=PREVIEW, headers=token).status_code == 200

    reject(client, cast, user)

    assert_problem(
        client.post(f"{API}/matching/preview", json=PREVIEW, headers=token),
        403,
        "organization_rejected",
    )
    me = client.get(f"{API}/users/me", headers=token)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user.id
    own = client.get(f"{API}/organizations/{user.organization_id}", headers=token)
    assert own.status_code == 200, own.text
    assert own.json()["status"] == "rejected"


def _owner_writes(cast: Cast) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("POST", "/challenges", CHALLENGE),
        ("PATCH", f"/challenges/{cast.draft.id}", {"title": "改过的标题"}),
        ("POST", f"/challenges/{cast.draft.id}/submit", None),
        ("POST", f"/challenges/{cast.published.id}/close", None),
        ("POST", f"/challenges/{cast.published.id}/withdraw", None),
        ("POST", f"/bids/{cast.submitted_bid.id}/shortlist", None),
        ("POST", f"/bids/{cast.submitted_bid.id}/nominate", None),
        ("POST", f"/bids/{cast.submitted_bid.id}/reject", {"reason": "不合适"}),
    ]


def test_rejected_enterprise_cannot_publish_edit_or_decide_on_bids(
    client: TestClient, session: Session, cast: Cast
) -> None:
    reject(client, cast, cast.owner)
    token = headers(cast.owner)
    challenges_before = session.scalar(select(func.count(Challenge.id)))

    for method, path, body in _owner_writes(cast):
        r = client.request(method, f"{API}{path}", json=body, headers=token)
        assert_problem(r, 403, "organization_rejected")

    session.expire_all()
    assert session.scalar(select(func.count(Challenge.id))) == challenges_before
    assert (cast.draft.status, cast.draft.title) == (S.draft, "高纯热解氮化硼坩埚制备工艺")
    assert cast.published.status is S.published
    assert cast.submitted_bid.status is B.submitted


def test_rejected_enterprise_still_reads_its_own_challenges_and_their_bids(
    client: TestClient, cast: Cast
) -> None:
    reject(client, cast, cast.owner)
    token = headers(cast.owner)

    assert client.get(f"{API}/challenges/{cast.draft.id}", headers=token).status_code == 200
    listed = client.get(f"{API}/challenges/{cast.published.id}/bids", headers=token)
    assert listed.status_code == 200, listed.text
    assert {b["id"] for b in listed.json()["items"]} == {
        cast.submitted_bid.id,
        cast.nominated_bid.id,
    }
    assert client.get(f"{API}/bids/{cast.nominated_bid.id}", headers=token).status_code == 200


@pytest.mark.parametrize("role", ["university", "institute"])
def test_rejected_research_organisation_cannot_bid_or_touch_its_offerings(
    client: TestClient, session: Session, cast: Cast, role: str
) -> None:
    user: User = getattr(cast, role)
    mine = make_capability(session, owner=user)
    result = make_result(session, owner=user)
    bid = make_bid(
        session, challenge=make_challenge(session, owner=make_user(session)), bidder=user
    )
    session.commit()
    own_bids = select(func.count(Bid.id)).where(Bid.organization_id == user.organization_id)
    bids_before = session.scalar(own_bids)
    reject(client, cast, user)
    token = headers(user)
    writes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"/challenges/{cast.other_published.id}/bids", BID),
        ("POST", f"/bids/{bid.id}/withdraw", None),
        ("POST", "/capabilities", CAPABILITY),
        ("POST", "/results", RESULT),
        ("PATCH", f"/capabilities/{mine.id}", {"title": "改过的能力"}),
        ("PATCH", f"/results/{result.id}", {"title": "改过的成果"}),
        ("DELETE", f"/capabilities/{mine.id}", None),
        ("DELETE", f"/results/{result.id}", None),
    ]

    for method, path, body in writes:
        r = client.request(method, f"{API}{path}", json=body, headers=token)
        assert_problem(r, 403, "organization_rejected")

    session.expire_all()
    assert session.get(Capability, mine.id) is not None
    assert mine.title == "先进陶瓷团队"
    assert session.get(Result, result.id) is not None
    assert bid.status is B.submitted
    assert session.scalar(own_bids) == bids_before
    assert client.get(f"{API}/capabilities/{mine.id}", headers=token).status_code == 200
    assert client.get(f"{API}/bids/{bid.id}", headers=token).status_code == 200


def test_rejection_is_undone_by_verifying_again(client: TestClient, cast: Cast) -> None:
    reject(client, cast, cast.university)
    reject(client, cast, cast.owner)
    assert_problem(
        client.post(f"{API}/capabilities", json=CAPABILITY, headers=headers(cast.university)),
        403,
        "organization_rejected",
    )

    verify(client, cast, cast.university)
    verify(client, cast, cast.owner)

    created = client.post(f"{API}/capabilities", json=CAPABILITY, headers=headers(cast.university))
    assert created.status_code == 201, created.text
    drafted = client.post(f"{API}/challenges", json=CHALLENGE, headers=headers(cast.owner))
    assert drafted.status_code == 201, drafted.text


def test_other_organisations_are_not_affected(client: TestClient, cast: Cast) -> None:
    reject(client, cast, cast.institute)

    r = client.post(
        f"{API}/challenges/{cast.other_published.id}/bids", json=BID, headers=headers(cast.owner)
    )
    assert_problem(r, 403, "role_not_allowed")  # the enterprise's usual answer, not a rejection
    created = client.post(f"{API}/results", json=RESULT, headers=headers(cast.university))
    assert created.status_code == 201, created.text


# --- the bureau approves nothing for a rejected organisation ---------------------------------


@pytest.mark.parametrize("role", ["university", "institute"])
def test_bureau_cannot_award_the_bid_of_a_rejected_bidder(
    client: TestClient, session: Session, cast: Cast, role: str
) -> None:
    bidder: User = getattr(cast, role)
    challenge = make_challenge(session, owner=make_user(session))
    bid = make_bid(session, challenge=challenge, bidder=bidder, status=B.nominated)
    session.commit()
    reject(client, cast, bidder)

    r = client.post(f"{API}/bids/{bid.id}/award", headers=headers(cast.bureau))

    assert_problem(r, 409, "bidder_not_verified")
    session.expire_all()
    assert bid.status is B.nominated
    assert challenge.status is S.published
    assert session.scalar(select(func.count(Project.id))) == 0


def test_bureau_cannot_award_on_the_challenge_of_a_rejected_enterprise(
    client: TestClient, session: Session, cast: Cast
) -> None:
    reject(client, cast, cast.owner)

    r = client.post(f"{API}/bids/{cast.nominated_bid.id}/award", headers=headers(cast.bureau))

    assert_problem(r, 409, "owner_not_verified")
    session.expire_all()
    assert cast.nominated_bid.status is B.nominated
    assert session.scalar(select(func.count(Project.id))) == 0


def test_award_succeeds_again_once_the_bidder_is_verified_again(
    client: TestClient, cast: Cast
) -> None:
    reject(client, cast, cast.institute)
    url = f"{API}/bids/{cast.nominated_bid.id}/award"
    assert_problem(client.post(url, headers=headers(cast.bureau)), 409, "bidder_not_verified")
    verify(client, cast, cast.institute)

    r = client.post(url, headers=headers(cast.bureau))

    assert r.status_code == 200, r.text
    assert r.json()["status"] == "awarded"


def test_bureau_cannot_publish_the_challenge_of_a_rejected_enterprise(
    client: TestClient, session: Session, cast: Cast
) -> None:
    reject(client, cast, cast.owner)

    r = client.post(f"{API}/challenges/{cast.pending.id}/approve", headers=headers(cast.bureau))

    assert_problem(r, 409, "owner_not_verified")
    session.expire_all()
    assert cast.pending.status is S.pending_review
    assert client.get(f"{API}/challenges/{cast.pending.id}").status_code == 404  # not public


# --- the services refuse too, whoever calls them (not only the HTTP dependency) ---------------


def _service_calls(cast: Cast, session: Session) -> dict[str, Callable[[], object]]:
    owner, university = cast.owner, cast.university
    capability = CapabilityCreate(title="新能力", description="描述", tags=[])
    return {
        "create challenge": lambda: challenges.create_challenge(
            session, owner=owner, data=challenges.ChallengeCreate.model_validate(CHALLENGE)
        ),
        "edit challenge": lambda: challenges.update_challenge(
            session, user=owner, challenge_id=cast.draft.id, data=ChallengeUpdate(title="新标题")
        ),
        "submit challenge": lambda: challenges.submit(
            session, user=owner, challenge_id=cast.draft.id
        ),
        "shortlist": lambda: bids.shortlist_bid(session, user=owner, bid_id=cast.submitted_bid.id),
        "nominate": lambda: bids.nominate_bid(session, user=owner, bid_id=cast.submitted_bid.id),
        "reject bid": lambda: bids.reject_bid(
            session, user=owner, bid_id=cast.submitted_bid.id, reason="不合适"
        ),
        "bid": lambda: bids.create_bid(
            session,
            user=university,
            challenge_id=cast.other_published.id,
            data=bids.BidCreate.model_validate(BID),
        ),
        "create capability": lambda: offerings.create_offering(
            session, Capability, owner=university, data=capability
        ),
        "edit capability": lambda: offerings.update_offering(
            session,
            Capability,
            user=university,
            offering_id=cast.capability.id,
            data=CapabilityUpdate(title="新标题"),
        ),
        "delete result": lambda: offerings.delete_offering(
            session, Result, user=university, offering_id=cast.result.id
        ),
    }


@pytest.mark.parametrize(
    "action",
    [
        "create challenge",
        "edit challenge",
        "submit challenge",
        "shortlist",
        "nominate",
        "reject bid",
        "bid",
        "create capability",
        "edit capability",
        "delete result",
    ],
)
def test_services_refuse_a_rejected_organisation(
    client: TestClient, session: Session, cast: Cast, action: str
) -> None:
    for user in (cast.owner, cast.university):
        reject(client, cast, user)
    session.expire_all()

    with pytest.raises(AppError) as refused:
        _service_calls(cast, session)[action]()

    assert (refused.value.status, refused.value.code) == (403, "organization_rejected")
