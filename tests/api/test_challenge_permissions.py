"""Challenge life cycle: every action, who may take it, from which states, and its audit trail."""

from functools import cached_property
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import BidStatus, Challenge, ChallengeStatus, OrganizationKind, Role, User
from tests.factories import headers, make_bid, make_challenge, make_user
from tests.problems import assert_problem

S = ChallengeStatus
URL = "/api/v1/challenges"
AUDIT = "/api/v1/audit-events"
REASON = "指标表述不清，请补充纯度测试方法"


class Cast:
    """Everyone who might touch one challenge, each made on first use."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def owner(self) -> User:
        return make_user(self._session)

    @cached_property
    def other_enterprise(self) -> User:
        return make_user(self._session)

    @cached_property
    def bidding_university(self) -> User:
        return make_user(self._session, kind=OrganizationKind.university)

    @cached_property
    def rival_university(self) -> User:
        return make_user(self._session, kind=OrganizationKind.university)

    @cached_property
    def bureau(self) -> User:
        return make_user(self._session, kind=OrganizationKind.bureau)

    def get(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


@pytest.fixture
def cast(session: Session) -> Cast:
    return Cast(session)


def act(client: TestClient, action: str, challenge_id: int, user: User | None, **body: Any) -> Any:
    """POST an action; return and cancel carry a reason unless the test says otherwise."""
    if action in {"return", "cancel"} and "reason" not in body:
        body["reason"] = REASON
    return client.post(
        f"{URL}/{challenge_id}/{action}",
        json=body or None,
        headers=headers(user) if user else {},
    )


def status_of(client: TestClient, cast: Cast, challenge_id: int) -> str:
    r = client.get(f"{URL}/{challenge_id}", headers=headers(cast.bureau))
    assert r.status_code == 200, r.text
    status: str = r.json()["status"]
    return status


def audit_events(client: TestClient, cast: Cast, object_id: int, **params: Any) -> list[Any]:
    r = client.get(
        AUDIT,
        params={"object_type": "challenge", "object_id": object_id, "limit": 100, **params},
        headers=headers(cast.bureau),
    )
    assert r.status_code == 200, r.text
    items: list[Any] = r.json()["items"]
    return items


# --- who may take each action -----------------------------------------------------------------

ROLES = [
    "anonymous",
    "owner",
    "other_enterprise",
    "bidding_university",
    "rival_university",
    "bureau",
]
# action -> (the state it starts from, the state it leads to, {role: (status, code)})
ROLE_MATRIX: dict[str, tuple[ChallengeStatus, ChallengeStatus, dict[str, tuple[int, str]]]] = {
    "submit": (
        S.draft,
        S.pending_review,
        {
            "anonymous": (401, "not_authenticated"),
            "owner": (200, ""),
            "other_enterprise": (404, "challenge_not_found"),
            "bidding_university": (404, "challenge_not_found"),
            "rival_university": (404, "challenge_not_found"),
            "bureau": (403, "not_challenge_owner"),
        },
    ),
    "approve": (
        S.pending_review,
        S.published,
        {
            "anonymous": (401, "not_authenticated"),
            "owner": (403, "role_not_allowed"),
            "other_enterprise": (404, "challenge_not_found"),
            "bidding_university": (404, "challenge_not_found"),
            "rival_university": (404, "challenge_not_found"),
            "bureau": (200, ""),
        },
    ),
    "return": (
        S.pending_review,
        S.returned,
        {
            "anonymous": (401, "not_authenticated"),
            "owner": (403, "role_not_allowed"),
            "other_enterprise": (404, "challenge_not_found"),
            "bidding_university": (404, "challenge_not_found"),
            "rival_university": (404, "challenge_not_found"),
            "bureau": (200, ""),
        },
    ),
    "close": (
        S.published,
        S.closed,
        {
            "anonymous": (401, "not_authenticated"),
            "owner": (200, ""),
            "other_enterprise": (403, "not_challenge_owner"),
            "bidding_university": (403, "not_challenge_owner"),
            "rival_university": (403, "not_challenge_owner"),
            "bureau": (200, ""),
        },
    ),
    "withdraw": (
        S.published,
        S.withdrawn,
        {
            "anonymous": (401, "not_authenticated"),
            "owner": (200, ""),
            "other_enterprise": (403, "not_challenge_owner"),
            "bidding_university": (403, "not_challenge_owner"),
            "rival_university": (403, "not_challenge_owner"),
            "bureau": (403, "not_challenge_owner"),
        },
    ),
    "cancel": (
        S.published,
        S.cancelled,
        {
            "anonymous": (401, "not_authenticated"),
            "owner": (403, "role_not_allowed"),
            "other_enterprise": (403, "role_not_allowed"),
            "bidding_university": (403, "role_not_allowed"),
            "rival_university": (403, "role_not_allowed"),
            "bureau": (200, ""),
        },
    ),
}


def arrange(session: Session, cast: Cast, action: str, status: ChallengeStatus) -> Challenge:
    """A challenge in `status`; once published, the bidding university has a bid on it."""
    challenge = make_challenge(session, owner=cast.owner, status=status)
    if status in {S.published, S.closed, S.awarded}:
        # A withdrawn bid keeps the bidder a bidder without blocking the owner's withdraw.
        bid_status = BidStatus.withdrawn if action == "withdraw" else BidStatus.submitted
        make_bid(session, challenge=challenge, bidder=cast.bidding_university, status=bid_status)
    return challenge


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ROLE_MATRIX))
def test_only_allowed_roles_take_the_action(
    client: TestClient, session: Session, cast: Cast, action: str, role: str
) -> None:
    start, end, expected = ROLE_MATRIX[action]
    want_status, want_code = expected[role]
    challenge = arrange(session, cast, action, start)
    r = act(client, action, challenge.id, cast.get(role))
    if want_status == 200:
        assert r.status_code == 200, r.text
        assert r.json()["status"] == end.value
        assert r.json()["id"] == challenge.id
        assert status_of(client, cast, challenge.id) == end.value
    else:
        assert_problem(r, want_status, want_code)
        assert status_of(client, cast, challenge.id) == start.value
        assert audit_events(client, cast, challenge.id) == []


@pytest.mark.parametrize("action", ["submit", "approve", "return", "withdraw", "cancel", "close"])
def test_other_enterprise_cannot_see_a_draft_to_act_on(
    client: TestClient, session: Session, cast: Cast, action: str
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.draft)
    r = act(client, action, challenge.id, cast.other_enterprise)
    assert_problem(r, 404, "challenge_not_found")


@pytest.mark.parametrize("action", list(ROLE_MATRIX))
def test_action_on_missing_challenge_is_404(client: TestClient, cast: Cast, action: str) -> None:
    assert_problem(act(client, action, 987654, cast.bureau), 404, "challenge_not_found")


def test_colleague_of_the_owner_may_submit(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.draft)
    colleague = make_user(session, organization=cast.owner.organization)
    assert act(client, "submit", challenge.id, colleague).status_code == 200


def test_expert_of_the_owning_organisation_is_not_the_owner(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.published)
    expert = make_user(session, organization=cast.owner.organization, role=Role.expert)
    assert_problem(act(client, "close", challenge.id, expert), 403, "not_challenge_owner")


def test_owner_of_unverified_enterprise_cannot_submit(
    client: TestClient, session: Session, cast: Cast
) -> None:
    owner = make_user(session, verified=False)
    challenge = make_challenge(session, owner=owner, status=S.draft)
    r = act(client, "submit", challenge.id, owner)
    assert_problem(r, 403, "organization_not_verified")
    assert status_of(client, cast, challenge.id) == "draft"


# --- from which states ------------------------------------------------------------------------

# action -> (actor, the states it is allowed from, the state it leads to)
STATE_MATRIX: list[tuple[str, str, frozenset[ChallengeStatus], ChallengeStatus]] = [
    ("submit", "owner", frozenset({S.draft, S.returned}), S.pending_review),
    ("approve", "bureau", frozenset({S.pending_review}), S.published),
    ("return", "bureau", frozenset({S.pending_review}), S.returned),
    ("close", "owner", frozenset({S.published}), S.closed),
    ("close", "bureau", frozenset({S.published}), S.closed),
    ("withdraw", "owner", frozenset({S.published}), S.withdrawn),
    (
        "cancel",
        "bureau",
        frozenset({S.draft, S.pending_review, S.returned, S.published, S.closed}),
        S.cancelled,
    ),
]


@pytest.mark.parametrize("start", list(ChallengeStatus))
@pytest.mark.parametrize(
    ("action", "actor", "allowed", "end"),
    STATE_MATRIX,
    ids=[f"{a}-by-{r}" for a, r, _, _ in STATE_MATRIX],
)
def test_action_moves_only_from_its_states_and_is_audited(
    client: TestClient,
    session: Session,
    cast: Cast,
    action: str,
    actor: str,
    allowed: frozenset[ChallengeStatus],
    end: ChallengeStatus,
    start: ChallengeStatus,
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=start)
    user = cast.get(actor)
    assert user is not None
    r = act(client, action, challenge.id, user)
    events = audit_events(client, cast, challenge.id)
    if start not in allowed:
        assert_problem(r, 409, "invalid_transition")
        assert status_of(client, cast, challenge.id) == start.value
        assert events == []
        return
    assert r.status_code == 200, r.text
    assert r.json()["status"] == end.value
    assert status_of(client, cast, challenge.id) == end.value
    (event,) = events
    assert event["action"] == f"challenge.{action}"
    assert event["actor_id"] == user.id
    assert event["object_type"] == "challenge"
    assert event["object_id"] == challenge.id
    assert event["before"] == {"status": start.value}
    assert event["after"] == {"status": end.value}
    if action in {"return", "cancel"}:
        assert event["reason"] == REASON
        assert r.json()["status_reason"] == REASON


# --- approve ----------------------------------------------------------------------------------


def test_approve_sets_published_at(client: TestClient, session: Session, cast: Cast) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.pending_review)
    assert (
        client.get(f"{URL}/{challenge.id}", headers=headers(cast.owner)).json()["published_at"]
        is None
    )
    r = act(client, "approve", challenge.id, cast.bureau)
    assert r.status_code == 200, r.text
    published_at = r.json()["published_at"]
    assert published_at is not None
    assert published_at.endswith("Z") or published_at[-6] in "+-"
    # now the public sees it
    assert client.get(f"{URL}/{challenge.id}").status_code == 200


def test_approve_after_the_deadline_is_refused(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.pending_review, deadline_days=-1)
    r = act(client, "approve", challenge.id, cast.bureau)
    assert_problem(r, 409, "deadline_passed")
    assert status_of(client, cast, challenge.id) == "pending_review"
    assert audit_events(client, cast, challenge.id) == []


# --- return, edit, resubmit -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "body"),
    [
        pytest.param("return", None, id="return-no-body"),
        pytest.param("return", {}, id="return-empty"),
        pytest.param("return", {"reason": ""}, id="return-blank"),
        pytest.param("return", {"reason": "   "}, id="return-spaces"),
        pytest.param("return", {"reason": None}, id="return-null"),
        pytest.param("return", {"reason": "原因\x00"}, id="return-nul"),
        pytest.param("return", {"reason": "因" * 2001}, id="return-too-long"),
        pytest.param("cancel", None, id="cancel-no-body"),
        pytest.param("cancel", {}, id="cancel-empty"),
        pytest.param("cancel", {"reason": " "}, id="cancel-spaces"),
    ],
)
def test_reason_is_required(
    client: TestClient, session: Session, cast: Cast, action: str, body: dict[str, Any] | None
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.pending_review)
    r = client.post(f"{URL}/{challenge.id}/{action}", json=body, headers=headers(cast.bureau))
    problem = assert_problem(r, 422, "validation_error")
    assert problem["errors"]
    if body is not None:
        assert any(e["loc"][:2] == ["body", "reason"] for e in problem["errors"]), problem
    assert status_of(client, cast, challenge.id) == "pending_review"


def test_returned_challenge_is_edited_and_resubmitted(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.pending_review)
    r = act(client, "return", challenge.id, cast.bureau)
    assert r.json()["status"] == "returned"
    owner_view = client.get(f"{URL}/{challenge.id}", headers=headers(cast.owner)).json()
    assert owner_view["status_reason"] == REASON
    assert client.get(f"{URL}/{challenge.id}").status_code == 404  # still not public

    r = client.patch(
        f"{URL}/{challenge.id}",
        json={"description": "补充：纯度按 GB/T 检测"},
        headers=headers(cast.owner),
    )
    assert r.status_code == 200, r.text
    r = act(client, "submit", challenge.id, cast.owner)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending_review"
    assert r.json()["status_reason"] is None
    r = act(client, "approve", challenge.id, cast.bureau)
    assert r.json()["status"] == "published"
    assert r.json()["description"] == "补充：纯度按 GB/T 检测"


# --- withdraw ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bid_status", "allowed"),
    [
        (BidStatus.submitted, False),
        (BidStatus.shortlisted, False),
        (BidStatus.nominated, False),
        (BidStatus.withdrawn, True),
        (BidStatus.rejected, True),
    ],
)
def test_withdraw_only_without_live_bids(
    client: TestClient, session: Session, cast: Cast, bid_status: BidStatus, allowed: bool
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.published)
    make_bid(session, challenge=challenge, bidder=cast.bidding_university, status=bid_status)
    r = act(client, "withdraw", challenge.id, cast.owner)
    if allowed:
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "withdrawn"
        assert client.get(f"{URL}/{challenge.id}").status_code == 404
    else:
        assert_problem(r, 409, "challenge_has_bids")
        assert status_of(client, cast, challenge.id) == "published"


def test_withdraw_is_blocked_by_one_live_bid_among_withdrawn_ones(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.published)
    make_bid(
        session, challenge=challenge, bidder=cast.bidding_university, status=BidStatus.withdrawn
    )
    make_bid(session, challenge=challenge, bidder=cast.rival_university)
    assert_problem(act(client, "withdraw", challenge.id, cast.owner), 409, "challenge_has_bids")


def test_bid_withdrawn_through_the_api_unblocks_withdraw(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.published)
    bid = make_bid(session, challenge=challenge, bidder=cast.bidding_university)
    assert_problem(act(client, "withdraw", challenge.id, cast.owner), 409, "challenge_has_bids")
    r = client.post(f"/api/v1/bids/{bid.id}/withdraw", headers=headers(cast.bidding_university))
    assert r.status_code == 200, r.text
    assert act(client, "withdraw", challenge.id, cast.owner).status_code == 200


# --- cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("start", [S.published, S.closed])
def test_cancel_rejects_live_bids(
    client: TestClient, session: Session, cast: Cast, start: ChallengeStatus
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=start)
    bidders = [make_user(session, kind=OrganizationKind.university) for _ in range(4)]
    statuses = [
        BidStatus.submitted,
        BidStatus.shortlisted,
        BidStatus.nominated,
        BidStatus.withdrawn,
    ]
    bids = [
        make_bid(session, challenge=challenge, bidder=b, status=s)
        for b, s in zip(bidders, statuses, strict=True)
    ]
    other = make_challenge(session, owner=cast.owner, status=S.published)
    untouched = make_bid(session, challenge=other, bidder=bidders[0])

    r = act(client, "cancel", challenge.id, cast.bureau)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"

    def bid_status(bid_id: int) -> str:
        resp = client.get(f"/api/v1/bids/{bid_id}", headers=headers(cast.bureau))
        assert resp.status_code == 200, resp.text
        value: str = resp.json()["status"]
        return value

    assert [bid_status(b.id) for b in bids] == ["rejected", "rejected", "rejected", "withdrawn"]
    assert bid_status(untouched.id) == "submitted"
    for bid, before in zip(bids[:3], statuses[:3], strict=True):
        r = client.get(
            AUDIT,
            params={"object_type": "bid", "object_id": bid.id},
            headers=headers(cast.bureau),
        )
        (event,) = r.json()["items"]
        assert event["before"] == {"status": before.value}
        assert event["after"] == {"status": "rejected"}
        assert event["actor_id"] == cast.bureau.id


def test_cancelled_challenge_disappears_from_the_public_list(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.published)
    assert [i["id"] for i in client.get(URL).json()["items"]] == [challenge.id]
    act(client, "cancel", challenge.id, cast.bureau)
    assert client.get(URL).json()["items"] == []
    assert client.get(f"{URL}/{challenge.id}").status_code == 404
    assert client.get(f"{URL}/{challenge.id}", headers=headers(cast.owner)).status_code == 200


# --- automatic close at the deadline ---------------------------------------------------------


@pytest.mark.parametrize("viewer", ["anonymous", "bidding_university"])
def test_published_challenge_past_deadline_reads_as_closed_and_the_read_writes_nothing(
    client: TestClient, session: Session, cast: Cast, viewer: str
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.published, deadline_days=-1)
    user = cast.get(viewer)
    r = client.get(f"{URL}/{challenge.id}", headers=headers(user) if user else {})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    assert r.json()["status_reason"] == "揭榜截止时间已过，自动截止"
    assert audit_events(client, cast, challenge.id) == []  # stored by a write or the job


def test_list_shows_expired_challenges_closed_and_filters_by_that_status(
    client: TestClient, session: Session, cast: Cast
) -> None:
    expired = make_challenge(session, owner=cast.owner, status=S.published, deadline_days=-1)
    fresh = make_challenge(session, owner=cast.owner, status=S.published)
    closed = make_challenge(session, owner=cast.owner, status=S.closed)
    items = {i["id"]: i["status"] for i in client.get(URL).json()["items"]}
    assert items == {expired.id: "closed", fresh.id: "published", closed.id: "closed"}

    def listed(status: str) -> list[int]:
        r = client.get(URL, params={"status": status})
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["items"])
        return [i["id"] for i in r.json()["items"]]

    assert listed("published") == [fresh.id]
    assert listed("closed") == [closed.id, expired.id]
    assert audit_events(client, cast, expired.id) == []


def test_expired_challenge_can_no_longer_be_closed_or_withdrawn(
    client: TestClient, session: Session, cast: Cast
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=S.published, deadline_days=-1)
    assert_problem(act(client, "close", challenge.id, cast.owner), 409, "invalid_transition")
    assert_problem(act(client, "withdraw", challenge.id, cast.owner), 409, "invalid_transition")
    assert status_of(client, cast, challenge.id) == "closed"


@pytest.mark.parametrize("status", [S.draft, S.pending_review, S.returned])
def test_deadline_does_not_close_unpublished_challenges(
    client: TestClient, session: Session, cast: Cast, status: ChallengeStatus
) -> None:
    challenge = make_challenge(session, owner=cast.owner, status=status, deadline_days=-1)
    assert status_of(client, cast, challenge.id) == status.value
    assert audit_events(client, cast, challenge.id) == []


# --- the audit trail --------------------------------------------------------------------------


def test_whole_life_cycle_is_audited_in_order(client: TestClient, cast: Cast) -> None:
    body = {
        "title": "玉米深加工副产物高值化利用",
        "description": "玉米芯综合利用率低。",
        "sector": "agriculture",
        "budget": "80",
        "deadline": "2099-01-01T00:00:00+08:00",
        "region": "211381",
    }
    r = client.post(URL, json=body, headers=headers(cast.owner))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert act(client, "submit", cid, cast.owner).status_code == 200
    assert act(client, "return", cid, cast.bureau).status_code == 200
    assert (
        client.patch(f"{URL}/{cid}", json={"budget": "90"}, headers=headers(cast.owner)).status_code
        == 200
    )
    assert act(client, "submit", cid, cast.owner).status_code == 200
    assert act(client, "approve", cid, cast.bureau).status_code == 200
    assert act(client, "close", cid, cast.bureau).status_code == 200

    events = list(reversed(audit_events(client, cast, cid)))  # the route answers newest first
    trail = [
        (e["action"], e["actor_id"], (e["before"] or {}).get("status"), e["after"].get("status"))
        for e in events
    ]
    owner, bureau = cast.owner.id, cast.bureau.id
    assert trail == [
        ("challenge.create", owner, None, "draft"),
        ("challenge.submit", owner, "draft", "pending_review"),
        ("challenge.return", bureau, "pending_review", "returned"),
        ("challenge.update", owner, None, None),
        ("challenge.submit", owner, "returned", "pending_review"),
        ("challenge.approve", bureau, "pending_review", "published"),
        ("challenge.close", bureau, "published", "closed"),
    ]
    assert events[3]["after"] == {"fields": ["budget"]}
    assert all(e["created_at"] for e in events)

    by_owner = audit_events(client, cast, cid, actor_id=owner)
    assert {e["action"] for e in by_owner} == {
        "challenge.create",
        "challenge.submit",
        "challenge.update",
    }


def test_audit_filter_by_object_excludes_other_challenges(
    client: TestClient, session: Session, cast: Cast
) -> None:
    first = make_challenge(session, owner=cast.owner, status=S.pending_review)
    second = make_challenge(session, owner=cast.owner, status=S.pending_review)
    act(client, "approve", first.id, cast.bureau)
    act(client, "return", second.id, cast.bureau)
    assert [e["action"] for e in audit_events(client, cast, first.id)] == ["challenge.approve"]
    assert [e["action"] for e in audit_events(client, cast, second.id)] == ["challenge.return"]


def test_anonymous_cannot_read_audit_events(client: TestClient) -> None:
    assert_problem(client.get(AUDIT), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        (OrganizationKind.enterprise, None),
        (OrganizationKind.university, None),
        (OrganizationKind.institute, None),
        (OrganizationKind.university, Role.expert),
    ],
)
def test_only_bureau_reads_audit_events(
    client: TestClient, session: Session, kind: OrganizationKind, role: Role | None
) -> None:
    user = make_user(session, kind=kind, role=role)
    assert_problem(client.get(AUDIT, headers=headers(user)), 403, "role_not_allowed")


def test_bureau_reads_audit_events(client: TestClient, cast: Cast) -> None:
    r = client.get(AUDIT, headers=headers(cast.bureau))
    assert r.status_code == 200
    assert set(r.json()) >= {"items", "total", "limit", "offset"}
