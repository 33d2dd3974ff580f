"""Bids (揭榜申报): submitting, reading, withdrawing, and the owner's decisions on them."""

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Bid, BidStatus, Challenge, ChallengeStatus, OrganizationKind, User
from tests.factories import PROMISES, headers, make_bid, make_challenge, make_user
from tests.problems import assert_problem, auth

API = "/api/v1"
B = BidStatus
BID = {
    "approach": "采用化学气相沉积法制备高纯热解氮化硼。",
    "team": "王教授团队，12 人",
    "budget": "280",
    "duration_months": 18,
    "milestones": [{"title": "完成中试样品", "due_date": "2027-09-30"}],
    "indicators": PROMISES,
}
OUTSIDERS = ["anonymous", "other_enterprise", "rival"]


@dataclass
class Cast:
    """A published challenge with a bid on it, and everyone who might touch that bid."""

    owner: User
    other_enterprise: User
    bidder: User
    rival: User
    bureau: User
    challenge: Challenge
    bid: Bid

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


def assert_field_error(response: Any, field: str) -> None:
    problem = assert_problem(response, 422, "validation_error")
    assert any(field in e["loc"] for e in problem["errors"]), problem["errors"]


@pytest.fixture
def cast(session: Session) -> Cast:
    owner = make_user(session)
    bidder = make_user(session, kind=OrganizationKind.university)
    challenge = make_challenge(session, owner=owner)
    return Cast(
        owner=owner,
        other_enterprise=make_user(session),
        bidder=bidder,
        rival=make_user(session, kind=OrganizationKind.university),
        bureau=make_user(session, kind=OrganizationKind.bureau),
        challenge=challenge,
        bid=make_bid(session, challenge=challenge, bidder=bidder),
    )


def bid_status(client: TestClient, cast: Cast, bid: Bid) -> str:
    r = client.get(f"{API}/bids/{bid.id}", headers=headers(cast.bureau))
    assert r.status_code == 200, r.text
    status: str = r.json()["status"]
    return status


def audit_trail(client: TestClient, cast: Cast, bid_id: int) -> list[dict[str, Any]]:
    """The bid's audit events, newest first, as the bureau reads them."""
    r = client.get(
        f"{API}/audit-events",
        params={"object_type": "bid", "object_id": bid_id},
        headers=headers(cast.bureau),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


# --- POST /challenges/{id}/bids -------------------------------------------------------------


@pytest.mark.parametrize("kind", [OrganizationKind.university, OrganizationKind.institute])
def test_verified_research_organisation_bids_on_published_challenge(
    client: TestClient, session: Session, cast: Cast, kind: OrganizationKind
) -> None:
    user = make_user(session, kind=kind)
    r = client.post(f"{API}/challenges/{cast.challenge.id}/bids", json=BID, headers=headers(user))
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["status"] == "submitted"
    assert data["challenge_id"] == cast.challenge.id
    assert data["organization_id"] == user.organization_id
    assert data["budget"] == "280.00"
    assert data["milestones"] == BID["milestones"]
    assert client.get(f"{API}/bids/{data['id']}", headers=headers(user)).json() == data
    [event] = audit_trail(client, cast, data["id"])
    assert (event["action"], event["actor_id"]) == ("bid.submit", user.id)
    assert (event["before"], event["after"]) == (None, {"status": "submitted"})


@pytest.mark.parametrize("role", ["owner", "other_enterprise", "bureau"])
def test_enterprise_and_bureau_cannot_bid(client: TestClient, cast: Cast, role: str) -> None:
    url = f"{API}/challenges/{cast.challenge.id}/bids"
    assert_problem(
        client.post(url, json=BID, headers=auth(cast.user(role))), 403, "role_not_allowed"
    )


def test_anonymous_cannot_bid(client: TestClient, cast: Cast) -> None:
    r = client.post(f"{API}/challenges/{cast.challenge.id}/bids", json=BID)
    assert_problem(r, 401, "not_authenticated")


def test_unverified_university_cannot_bid(client: TestClient, session: Session, cast: Cast) -> None:
    user = make_user(session, kind=OrganizationKind.university, verified=False)
    r = client.post(f"{API}/challenges/{cast.challenge.id}/bids", json=BID, headers=headers(user))
    assert_problem(r, 403, "organization_not_verified")


@pytest.mark.parametrize(
    "status",
    [
        ChallengeStatus.draft,
        ChallengeStatus.pending_review,
        ChallengeStatus.returned,
        ChallengeStatus.withdrawn,
        ChallengeStatus.cancelled,
    ],
)
def test_cannot_bid_on_unpublished_challenge_it_cannot_see(
    client: TestClient, session: Session, cast: Cast, status: ChallengeStatus
) -> None:
    hidden = make_challenge(session, owner=cast.owner, status=status)
    r = client.post(f"{API}/challenges/{hidden.id}/bids", json=BID, headers=headers(cast.rival))
    assert_problem(r, 404, "challenge_not_found")
    missing = client.post(f"{API}/challenges/999999/bids", json=BID, headers=headers(cast.rival))
    assert_problem(missing, 404, "challenge_not_found")


@pytest.mark.parametrize("status", [ChallengeStatus.closed, ChallengeStatus.awarded])
def test_cannot_bid_once_bidding_has_closed(
    client: TestClient, session: Session, cast: Cast, status: ChallengeStatus
) -> None:
    ended = make_challenge(session, owner=cast.owner, status=status)
    r = client.post(f"{API}/challenges/{ended.id}/bids", json=BID, headers=headers(cast.rival))
    assert_problem(r, 409, "bidding_closed")


def test_cannot_bid_after_the_deadline(client: TestClient, session: Session, cast: Cast) -> None:
    late = make_challenge(session, owner=cast.owner, deadline_days=-0.01)
    r = client.post(f"{API}/challenges/{late.id}/bids", json=BID, headers=headers(cast.rival))
    assert_problem(r, 409, "bidding_closed")
    listed = client.get(f"{API}/challenges/{late.id}/bids", headers=headers(cast.owner)).json()
    assert listed["total"] == 0


@pytest.mark.parametrize("status", [B.submitted, B.shortlisted, B.nominated])
@pytest.mark.parametrize("same_user", [True, False], ids=["same_user", "colleague"])
def test_second_live_bid_from_same_organisation_is_refused(
    client: TestClient, session: Session, cast: Cast, status: BidStatus, same_user: bool
) -> None:
    cast.bid.status = status
    user = cast.bidder if same_user else make_user(session, organization=cast.bidder.organization)
    r = client.post(f"{API}/challenges/{cast.challenge.id}/bids", json=BID, headers=headers(user))
    assert_problem(r, 409, "duplicate_bid")
    listed = client.get(f"{API}/challenges/{cast.challenge.id}/bids", headers=headers(cast.owner))
    assert listed.json()["total"] == 1


def test_organisation_may_bid_again_after_withdrawing(client: TestClient, cast: Cast) -> None:
    bidder = headers(cast.bidder)
    withdrawn = client.post(f"{API}/bids/{cast.bid.id}/withdraw", headers=bidder)
    assert withdrawn.status_code == 200, withdrawn.text
    r = client.post(f"{API}/challenges/{cast.challenge.id}/bids", json=BID, headers=bidder)
    assert r.status_code == 201, r.text
    assert r.json()["id"] != cast.bid.id
    again = client.post(f"{API}/challenges/{cast.challenge.id}/bids", json=BID, headers=bidder)
    assert_problem(again, 409, "duplicate_bid")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("budget", "-1"),
        ("budget", "1.234"),
        ("budget", "十万"),
        ("budget", None),
        ("duration_months", 0),
        ("duration_months", 121),
        ("duration_months", "一年"),
        ("approach", ""),
        ("approach", "长" * 20_001),
        ("approach", "方案\x00"),
        ("team", "   "),
        ("milestones", "中试"),
        ("milestones", [{"title": "中试"}]),
        ("milestones", [{"title": "", "due_date": "2027-09-30"}]),
        ("milestones", [{"title": "中试", "due_date": "明年"}]),
        ("milestones", [{"title": "中试", "due_date": "2027-09-30", "status": "done"}]),
        ("milestones", [{"title": "中试", "due_date": "2027-09-30"}] * 51),
        ("status", "awarded"),
        ("organization_id", 1),
        ("challenge_id", 1),
    ],
)
def test_bid_input_is_validated(client: TestClient, cast: Cast, field: str, value: Any) -> None:
    url = f"{API}/challenges/{cast.challenge.id}/bids"
    r = client.post(url, json={**BID, field: value}, headers=headers(cast.rival))
    assert_field_error(r, field)


@pytest.mark.parametrize("field", ["approach", "team", "budget", "duration_months"])
def test_bid_requires_its_fields(client: TestClient, cast: Cast, field: str) -> None:
    body = {k: v for k, v in BID.items() if k != field}
    url = f"{API}/challenges/{cast.challenge.id}/bids"
    assert_field_error(client.post(url, json=body, headers=headers(cast.rival)), field)


def test_bid_budget_is_a_two_place_decimal(client: TestClient, cast: Cast) -> None:
    url = f"{API}/challenges/{cast.challenge.id}/bids"
    body = {**BID, "budget": "0", "milestones": []}
    r = client.post(url, json=body, headers=headers(cast.rival))
    assert r.status_code == 201, r.text
    assert (r.json()["budget"], r.json()["milestones"]) == ("0.00", [])


# --- promised indicators ---------------------------------------------------------------------


def with_indicators(session: Session, challenge: Challenge, *names: str) -> None:
    challenge.indicators = [{"name": n, "target": "≥1", "unit": ""} for n in names]
    session.flush()


def post_bid(client: TestClient, cast: Cast, indicators: Any) -> Any:
    return client.post(
        f"{API}/challenges/{cast.challenge.id}/bids",
        json={**BID, "indicators": indicators},
        headers=headers(cast.rival),
    )


def test_a_bid_promises_a_value_for_each_indicator_and_reads_them_back(
    client: TestClient, session: Session, cast: Cast
) -> None:
    with_indicators(session, cast.challenge, "纯度", "坩埚直径")
    promises = [{"name": "坩埚直径", "promised": "≥210 mm"}, {"name": "纯度", "promised": "99.995"}]
    r = post_bid(client, cast, promises)
    assert r.status_code == 201, r.text
    assert r.json()["indicators"] == promises
    read = client.get(f"{API}/bids/{r.json()['id']}", headers=headers(cast.owner)).json()
    assert read["indicators"] == promises


def test_a_bid_missing_promises_is_422_naming_them(
    client: TestClient, session: Session, cast: Cast
) -> None:
    with_indicators(session, cast.challenge, "纯度", "坩埚直径", "寿命")
    r = post_bid(client, cast, [{"name": "纯度", "promised": "99.995"}])
    problem = assert_problem(r, 422, "missing_indicators")
    assert "坩埚直径" in problem["detail"]
    assert "寿命" in problem["detail"]
    assert "纯度" not in problem["detail"]
    assert problem["errors"] == [
        {"loc": ["body", "indicators"], "msg": problem["detail"], "type": "missing_indicators"}
    ]
    assert_problem(post_bid(client, cast, []), 422, "missing_indicators")
    r = client.post(
        f"{API}/challenges/{cast.challenge.id}/bids",
        json={k: v for k, v in BID.items() if k != "indicators"},
        headers=headers(cast.rival),
    )
    assert_problem(r, 422, "missing_indicators")
    listed = client.get(f"{API}/challenges/{cast.challenge.id}/bids", headers=headers(cast.rival))
    assert listed.json()["items"] == []


def test_a_promise_for_an_indicator_the_challenge_lacks_is_422(
    client: TestClient, cast: Cast
) -> None:
    r = post_bid(client, cast, [*PROMISES, {"name": "颜色", "promised": "白"}])
    problem = assert_problem(r, 422, "unknown_indicators")
    assert "颜色" in problem["detail"]


def test_a_misnamed_promise_names_the_unknown_and_the_missing_one(
    client: TestClient, cast: Cast
) -> None:
    r = post_bid(client, cast, [{"name": "纯 度", "promised": "99.995"}])
    problem = assert_problem(r, 422, "unknown_indicators")
    assert "纯 度" in problem["detail"]
    assert "缺少指标的承诺值：纯度" in problem["detail"]


def test_a_challenge_without_indicators_takes_a_bid_without_promises(
    client: TestClient, session: Session, cast: Cast
) -> None:
    with_indicators(session, cast.challenge)
    r = post_bid(client, cast, [])
    assert r.status_code == 201, r.text
    assert r.json()["indicators"] == []


@pytest.mark.parametrize(
    "indicators",
    [
        [*PROMISES, *PROMISES],
        [{"name": "纯度"}],
        [{"name": "纯度", "promised": ""}],
        [{"name": "纯度", "promised": "99\n9"}],
        [{"name": "纯度", "promised": "99.9", "unit": "%"}],
        [{"promised": "99.9"}],
        "纯度",
    ],
)
def test_malformed_promises_are_422(client: TestClient, cast: Cast, indicators: Any) -> None:
    assert_field_error(post_bid(client, cast, indicators), "indicators")


# --- GET /challenges/{id}/bids ---------------------------------------------------------------


@pytest.fixture
def rival_bid(session: Session, cast: Cast) -> Bid:
    return make_bid(session, challenge=cast.challenge, bidder=cast.rival)


@pytest.mark.parametrize(
    ("role", "sees"),
    [("owner", {"bid", "rival_bid"}), ("bureau", {"bid", "rival_bid"}), ("bidder", {"bid"})],
)
def test_bid_list_shows_each_party_what_it_may_see(
    client: TestClient, cast: Cast, rival_bid: Bid, role: str, sees: set[str]
) -> None:
    ids = {"bid": cast.bid.id, "rival_bid": rival_bid.id}
    url = f"{API}/challenges/{cast.challenge.id}/bids"
    r = client.get(url, headers=auth(cast.user(role)))
    assert r.status_code == 200, r.text
    assert [b["id"] for b in r.json()["items"]] == sorted(ids[s] for s in sees)
    assert r.json()["total"] == len(sees)
    rival_view = client.get(url, headers=headers(cast.rival)).json()
    assert [b["id"] for b in rival_view["items"]] == [rival_bid.id]


def test_research_organisation_without_bid_sees_empty_list(
    client: TestClient, session: Session, cast: Cast
) -> None:
    stranger = make_user(session, kind=OrganizationKind.institute)
    r = client.get(f"{API}/challenges/{cast.challenge.id}/bids", headers=headers(stranger))
    assert (r.status_code, r.json()["items"]) == (200, [])


def test_other_enterprise_cannot_list_bids(client: TestClient, cast: Cast) -> None:
    r = client.get(
        f"{API}/challenges/{cast.challenge.id}/bids", headers=headers(cast.other_enterprise)
    )
    assert_problem(r, 403, "role_not_allowed")


def test_anonymous_cannot_list_bids(client: TestClient, cast: Cast) -> None:
    r = client.get(f"{API}/challenges/{cast.challenge.id}/bids")
    assert_problem(r, 401, "not_authenticated")


def test_bids_of_an_invisible_challenge_are_not_found(
    client: TestClient, session: Session, cast: Cast
) -> None:
    draft = make_challenge(session, owner=cast.owner, status=ChallengeStatus.draft)
    for user in (cast.rival, cast.other_enterprise):
        r = client.get(f"{API}/challenges/{draft.id}/bids", headers=headers(user))
        assert_problem(r, 404, "challenge_not_found")


# --- GET /bids/{id} --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("bidder", 200),
        ("owner", 200),
        ("bureau", 200),
        ("rival", 404),
        ("other_enterprise", 404),
        ("anonymous", 401),
    ],
)
def test_bid_is_readable_only_by_its_parties(
    client: TestClient, cast: Cast, role: str, status: int
) -> None:
    r = client.get(f"{API}/bids/{cast.bid.id}", headers=auth(cast.user(role)))
    assert r.status_code == status, r.text
    if status == 200:
        assert (r.json()["id"], r.json()["status"]) == (cast.bid.id, "submitted")
    else:
        assert "approach" not in r.text
        assert r.json()["code"] == {404: "bid_not_found", 401: "not_authenticated"}[status]


def test_missing_bid_is_not_found(client: TestClient, cast: Cast) -> None:
    assert_problem(
        client.get(f"{API}/bids/999999", headers=headers(cast.bureau)), 404, "bid_not_found"
    )


@pytest.mark.parametrize("bad_id", [0, 2**31, 10**30])
def test_out_of_range_ids_are_invalid_input(client: TestClient, cast: Cast, bad_id: int) -> None:
    for role, method, path in [
        ("rival", "POST", f"challenges/{bad_id}/bids"),
        ("owner", "GET", f"challenges/{bad_id}/bids"),
        ("owner", "GET", f"bids/{bad_id}"),
        ("bidder", "POST", f"bids/{bad_id}/withdraw"),
        ("owner", "POST", f"bids/{bad_id}/shortlist"),
        ("owner", "POST", f"bids/{bad_id}/reject"),
        ("owner", "POST", f"bids/{bad_id}/nominate"),
        ("bureau", "POST", f"bids/{bad_id}/award"),
    ]:
        body = BID if path.endswith("/bids") and method == "POST" else None
        r = client.request(method, f"{API}/{path}", json=body, headers=auth(cast.user(role)))
        assert_field_error(r, "challenge_id" if path.startswith("challenges") else "bid_id")


def test_bid_status_has_no_write_route(client: TestClient, cast: Cast) -> None:
    r = client.patch(
        f"{API}/bids/{cast.bid.id}", json={"status": "awarded"}, headers=headers(cast.owner)
    )
    assert r.status_code == 405
    assert bid_status(client, cast, cast.bid) == "submitted"


# --- POST /bids/{id}/withdraw ----------------------------------------------------------------


@pytest.mark.parametrize("status", [B.submitted, B.shortlisted, B.nominated])
def test_bidder_withdraws_live_bid(client: TestClient, cast: Cast, status: BidStatus) -> None:
    cast.bid.status = status
    r = client.post(f"{API}/bids/{cast.bid.id}/withdraw", headers=headers(cast.bidder))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn"
    [event, *_] = audit_trail(client, cast, cast.bid.id)
    assert (event["action"], event["actor_id"]) == ("bid.withdraw", cast.bidder.id)
    assert (event["before"], event["after"]) == ({"status": status.value}, {"status": "withdrawn"})


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("anonymous", 401, "not_authenticated"),
        ("rival", 404, "bid_not_found"),
        ("other_enterprise", 404, "bid_not_found"),
        ("owner", 403, "not_bidder"),
        ("bureau", 403, "not_bidder"),
    ],
)
def test_only_bidder_may_withdraw(
    client: TestClient, cast: Cast, role: str, status: int, code: str
) -> None:
    r = client.post(f"{API}/bids/{cast.bid.id}/withdraw", headers=auth(cast.user(role)))
    assert_problem(r, status, code)
    assert bid_status(client, cast, cast.bid) == "submitted"


@pytest.mark.parametrize("status", [B.awarded, B.rejected, B.withdrawn])
def test_bid_cannot_be_withdrawn_once_decided(
    client: TestClient, cast: Cast, status: BidStatus
) -> None:
    cast.bid.status = status
    r = client.post(f"{API}/bids/{cast.bid.id}/withdraw", headers=headers(cast.bidder))
    assert_problem(r, 409, "invalid_transition")
    assert bid_status(client, cast, cast.bid) == status.value


# --- shortlist / reject / nominate -----------------------------------------------------------

DECISIONS = {"shortlist": "shortlisted", "reject": "rejected", "nominate": "nominated"}


@pytest.mark.parametrize("action", DECISIONS)
def test_owner_decides_on_submitted_bid(client: TestClient, cast: Cast, action: str) -> None:
    r = client.post(f"{API}/bids/{cast.bid.id}/{action}", headers=headers(cast.owner))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == DECISIONS[action]
    [event] = audit_trail(client, cast, cast.bid.id)[:1]
    assert (event["action"], event["actor_id"]) == (f"bid.{action}", cast.owner.id)
    assert event["before"] == {"status": "submitted"}
    assert event["after"] == {"status": DECISIONS[action]}


@pytest.mark.parametrize("action", DECISIONS)
@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("anonymous", 401, "not_authenticated"),
        ("bidder", 403, "not_challenge_owner"),
        ("bureau", 403, "not_challenge_owner"),
        ("rival", 404, "bid_not_found"),
        ("other_enterprise", 404, "bid_not_found"),
    ],
)
def test_only_challenge_owner_decides_on_bids(
    client: TestClient, cast: Cast, action: str, role: str, status: int, code: str
) -> None:
    r = client.post(f"{API}/bids/{cast.bid.id}/{action}", headers=auth(cast.user(role)))
    assert_problem(r, status, code)
    assert bid_status(client, cast, cast.bid) == "submitted"


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("shortlist", B.shortlisted),
        ("shortlist", B.nominated),
        ("shortlist", B.withdrawn),
        ("shortlist", B.rejected),
        ("shortlist", B.awarded),
        ("reject", B.withdrawn),
        ("reject", B.rejected),
        ("reject", B.awarded),
        ("nominate", B.nominated),
        ("nominate", B.withdrawn),
        ("nominate", B.rejected),
        ("nominate", B.awarded),
    ],
)
def test_decision_not_allowed_from_bid_state_is_a_conflict(
    client: TestClient, cast: Cast, action: str, status: BidStatus
) -> None:
    cast.bid.status = status
    r = client.post(f"{API}/bids/{cast.bid.id}/{action}", headers=headers(cast.owner))
    assert_problem(r, 409, "invalid_transition")
    assert bid_status(client, cast, cast.bid) == status.value


@pytest.mark.parametrize(
    ("action", "status"),
    [("reject", B.shortlisted), ("reject", B.nominated), ("nominate", B.shortlisted)],
)
def test_owner_moves_bid_on_from_later_states(
    client: TestClient, cast: Cast, action: str, status: BidStatus
) -> None:
    cast.bid.status = status
    r = client.post(f"{API}/bids/{cast.bid.id}/{action}", headers=headers(cast.owner))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == DECISIONS[action]


def test_only_one_bid_per_challenge_may_be_nominated(
    client: TestClient, cast: Cast, rival_bid: Bid
) -> None:
    owner = headers(cast.owner)
    assert client.post(f"{API}/bids/{cast.bid.id}/nominate", headers=owner).status_code == 200
    r = client.post(f"{API}/bids/{rival_bid.id}/nominate", headers=owner)
    assert_problem(r, 409, "already_nominated")
    assert bid_status(client, cast, rival_bid) == "submitted"
    assert client.post(f"{API}/bids/{cast.bid.id}/reject", headers=owner).status_code == 200
    r = client.post(f"{API}/bids/{rival_bid.id}/nominate", headers=owner)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "nominated"


@pytest.mark.parametrize("status", [ChallengeStatus.awarded, ChallengeStatus.cancelled])
@pytest.mark.parametrize("action", DECISIONS)
def test_no_decisions_once_challenge_is_over(
    client: TestClient, cast: Cast, status: ChallengeStatus, action: str
) -> None:
    cast.challenge.status = status
    r = client.post(f"{API}/bids/{cast.bid.id}/{action}", headers=headers(cast.owner))
    assert_problem(r, 409, "challenge_not_open")
    assert bid_status(client, cast, cast.bid) == "submitted"


def test_owner_decides_after_bidding_has_closed(
    client: TestClient, session: Session, cast: Cast
) -> None:
    late = make_challenge(session, owner=cast.owner, deadline_days=-0.01)
    bid = make_bid(session, challenge=late, bidder=cast.bidder)
    r = client.post(f"{API}/bids/{bid.id}/shortlist", headers=headers(cast.owner))
    assert r.status_code == 200, r.text
    challenge = client.get(f"{API}/challenges/{late.id}", headers=headers(cast.owner)).json()
    assert challenge["status"] == "closed"


def test_owner_rejects_with_a_reason(client: TestClient, cast: Cast) -> None:
    r = client.post(
        f"{API}/bids/{cast.bid.id}/reject",
        json={"reason": " 技术路线与指标不符 "},
        headers=headers(cast.owner),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["status_reason"]) == ("rejected", "技术路线与指标不符")
    seen = client.get(f"{API}/bids/{cast.bid.id}", headers=headers(cast.bidder)).json()
    assert seen["status_reason"] == "技术路线与指标不符"
    assert audit_trail(client, cast, cast.bid.id)[0]["reason"] == "技术路线与指标不符"


def test_owner_rejects_without_a_reason(client: TestClient, cast: Cast) -> None:
    r = client.post(f"{API}/bids/{cast.bid.id}/reject", headers=headers(cast.owner))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["status_reason"]) == ("rejected", None)


@pytest.mark.parametrize("reason", ["坏\x00理由", "长" * 10_001, 42])
def test_reject_reason_is_validated(client: TestClient, cast: Cast, reason: Any) -> None:
    r = client.post(
        f"{API}/bids/{cast.bid.id}/reject", json={"reason": reason}, headers=headers(cast.owner)
    )
    assert_field_error(r, "reason")
    assert bid_status(client, cast, cast.bid) == "submitted"
