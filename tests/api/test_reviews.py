"""Expert review before the award: reviewers and conflicts, criteria, scores, ranking."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import db
from app.models import (
    AssignmentStatus,
    Bid,
    BidReview,
    BidStatus,
    Challenge,
    ChallengeStatus,
    OrganizationKind,
    ReviewAssignment,
    User,
)
from tests.factories import (
    PROMISES,
    assign_expert,
    headers,
    make_bid,
    make_challenge,
    make_expert,
    make_user,
)
from tests.problems import assert_problem, auth

API = "/api/v1"
DEFAULTS = [
    {"name": "技术方案", "weight": 40},
    {"name": "团队与研究基础", "weight": 25},
    {"name": "预算合理性", "weight": 15},
    {"name": "进度可行性", "weight": 20},
]
# (80×40 + 70×25 + 60×15 + 90×20) / 100 = 76.5
SCORES = {"技术方案": 80, "团队与研究基础": 70, "预算合理性": 60, "进度可行性": 90}
HIGH = {"技术方案": 90, "团队与研究基础": 90, "预算合理性": 90, "进度可行性": 90}
BID = {
    "approach": "化学气相沉积",
    "team": "李教授团队",
    "budget": "80",
    "duration_months": 12,
    "indicators": PROMISES,
}


@dataclass
class Cast:
    """A published challenge with one bid, an assigned expert, and everyone else."""

    owner: User
    other_enterprise: User
    bidder: User
    rival: User
    assigned_expert: User
    unassigned_expert: User
    bureau: User
    challenge: Challenge
    bid: Bid

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


@pytest.fixture
def cast(session: Session) -> Cast:
    owner = make_user(session)
    bidder = make_user(session, kind=OrganizationKind.university)
    bureau = make_user(session, kind=OrganizationKind.bureau)
    challenge = make_challenge(session, owner=owner)
    expert = make_expert(session, bureau=bureau)
    assign_expert(session, challenge=challenge, expert=expert)
    return Cast(
        owner=owner,
        other_enterprise=make_user(session),
        bidder=bidder,
        rival=make_user(session, kind=OrganizationKind.university),
        assigned_expert=expert,
        unassigned_expert=make_expert(session, bureau=bureau),
        bureau=bureau,
        challenge=challenge,
        bid=make_bid(session, challenge=challenge, bidder=bidder),
    )


def review(client: TestClient, expert: User, bid: Bid, scores: dict[str, int] | None = None) -> Any:
    return client.post(
        f"{API}/bids/{bid.id}/reviews",
        json={"scores": scores or SCORES, "comment": "方案可行"},
        headers=headers(expert),
    )


def declare_conflict(client: TestClient, expert: User, bid: Bid) -> Any:
    return client.post(
        f"{API}/bids/{bid.id}/reviews",
        json={"conflict": True, "reason": "本人是申报团队成员的导师"},
        headers=headers(expert),
    )


def assign(client: TestClient, cast: Cast, expert: User, challenge: Challenge | None = None) -> Any:
    challenge_id = (challenge or cast.challenge).id
    return client.post(
        f"{API}/challenges/{challenge_id}/reviewers",
        json={"expert_id": expert.id},
        headers=headers(cast.bureau),
    )


def reviewers(client: TestClient, cast: Cast) -> list[dict[str, Any]]:
    r = client.get(f"{API}/challenges/{cast.challenge.id}/reviewers", headers=headers(cast.bureau))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def challenge_events(client: TestClient, cast: Cast) -> list[dict[str, Any]]:
    r = client.get(
        f"{API}/audit-events",
        params={"object_type": "challenge", "object_id": cast.challenge.id},
        headers=headers(cast.bureau),
    )
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def second_bid(session: Session, cast: Cast) -> Bid:
    return make_bid(session, challenge=cast.challenge, bidder=cast.rival)


# --- reviewers: assignment and conflicts of interest ----------------------------------------


def test_bureau_assigns_an_expert_and_the_assignment_is_audited(
    client: TestClient, cast: Cast
) -> None:
    r = assign(client, cast, cast.unassigned_expert)
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["expert_id"] == cast.unassigned_expert.id
    assert data["challenge_id"] == cast.challenge.id
    assert (data["status"], data["recusal_reason"], data["organization_id"]) == (
        "active",
        None,
        None,
    )
    assert [a["expert_id"] for a in reviewers(client, cast)] == [
        cast.assigned_expert.id,
        cast.unassigned_expert.id,
    ]
    [event] = challenge_events(client, cast)
    assert event["action"] == "challenge.assign_reviewer"
    assert event["after"] == {"expert_id": cast.unassigned_expert.id, "status": "active"}
    assert event["actor_id"] == cast.bureau.id


def test_assigning_an_expert_twice_is_409(client: TestClient, cast: Cast) -> None:
    assert_problem(assign(client, cast, cast.assigned_expert), 409, "reviewer_exists")


def test_an_expert_of_the_owner_cannot_be_assigned(
    client: TestClient, session: Session, cast: Cast
) -> None:
    of_owner = make_expert(session, bureau=cast.bureau, affiliation=cast.owner.organization)
    assert_problem(assign(client, cast, of_owner), 409, "conflict_of_interest")
    assert len(reviewers(client, cast)) == 1


def test_an_expert_of_a_bidder_cannot_be_assigned(
    client: TestClient, session: Session, cast: Cast
) -> None:
    of_bidder = make_expert(session, bureau=cast.bureau, affiliation=cast.bidder.organization)
    assert_problem(assign(client, cast, of_bidder), 409, "conflict_of_interest")


def test_an_expert_of_an_organisation_whose_bid_was_withdrawn_may_be_assigned(
    client: TestClient, session: Session, cast: Cast
) -> None:
    make_bid(session, challenge=cast.challenge, bidder=cast.rival, status=BidStatus.withdrawn)
    of_rival = make_expert(session, bureau=cast.bureau, affiliation=cast.rival.organization)
    r = assign(client, cast, of_rival)
    assert r.status_code == 201, r.text
    assert r.json()["organization_id"] == cast.rival.organization_id


def test_an_unrelated_affiliated_expert_may_be_assigned(
    client: TestClient, session: Session, cast: Cast
) -> None:
    of_rival = make_expert(session, bureau=cast.bureau, affiliation=cast.rival.organization)
    assert assign(client, cast, of_rival).status_code == 201


def test_assigning_who_is_not_an_expert_is_404(client: TestClient, cast: Cast) -> None:
    assert_problem(assign(client, cast, cast.bidder), 404, "expert_not_found")
    r = client.post(
        f"{API}/challenges/{cast.challenge.id}/reviewers",
        json={"expert_id": 999999},
        headers=headers(cast.bureau),
    )
    assert_problem(r, 404, "expert_not_found")


def test_assigning_to_a_missing_challenge_is_404(client: TestClient, cast: Cast) -> None:
    r = client.post(
        f"{API}/challenges/999999/reviewers",
        json={"expert_id": cast.unassigned_expert.id},
        headers=headers(cast.bureau),
    )
    assert_problem(r, 404, "challenge_not_found")


@pytest.mark.parametrize("status", [ChallengeStatus.awarded, ChallengeStatus.cancelled])
def test_no_assignment_after_the_award_or_a_cancellation(
    client: TestClient, session: Session, cast: Cast, status: ChallengeStatus
) -> None:
    cast.challenge.status = status
    session.flush()
    assert_problem(assign(client, cast, cast.unassigned_expert), 409, "review_closed")


def test_a_bid_from_an_assigned_experts_affiliation_recuses_that_expert(
    client: TestClient, session: Session, cast: Cast
) -> None:
    of_rival = make_expert(session, bureau=cast.bureau, affiliation=cast.rival.organization)
    assert assign(client, cast, of_rival).status_code == 201
    r = client.post(
        f"{API}/challenges/{cast.challenge.id}/bids", json=BID, headers=headers(cast.rival)
    )
    assert r.status_code == 201, r.text
    by_id = {a["expert_id"]: a for a in reviewers(client, cast)}
    assert by_id[of_rival.id]["status"] == "recused"
    assert "自动回避" in by_id[of_rival.id]["recusal_reason"]
    assert by_id[cast.assigned_expert.id]["status"] == "active"
    [recusal, _] = challenge_events(client, cast)
    assert recusal["action"] == "challenge.recuse_reviewer"
    assert recusal["before"] == {"expert_id": of_rival.id, "status": "active"}
    assert recusal["after"] == {"expert_id": of_rival.id, "status": "recused"}
    assert recusal["actor_id"] == cast.rival.id
    # Recused: neither that bid nor any other of the challenge is theirs to read or score.
    assert client.get(f"{API}/bids/{cast.bid.id}", headers=headers(of_rival)).status_code == 404
    assert_problem(review(client, of_rival, cast.bid), 409, "reviewer_recused")


def test_a_refused_bid_recuses_nobody(client: TestClient, session: Session, cast: Cast) -> None:
    of_rival = make_expert(session, bureau=cast.bureau, affiliation=cast.rival.organization)
    assert assign(client, cast, of_rival).status_code == 201
    r = client.post(
        f"{API}/challenges/{cast.challenge.id}/bids",
        json={**BID, "indicators": []},
        headers=headers(cast.rival),
    )
    assert_problem(r, 422, "missing_indicators")
    assert {a["status"] for a in reviewers(client, cast)} == {"active"}


def test_reviewers_list_names_affiliation_fields_and_pages(
    client: TestClient, session: Session, cast: Cast
) -> None:
    of_rival = make_expert(session, bureau=cast.bureau, affiliation=cast.rival.organization)
    assert assign(client, cast, of_rival).status_code == 201
    r = client.get(
        f"{API}/challenges/{cast.challenge.id}/reviewers",
        params={"limit": 1, "offset": 1},
        headers=headers(cast.owner),
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 2
    [item] = page["items"]
    assert (item["expert_id"], item["organization_id"]) == (of_rival.id, cast.rival.organization_id)
    assert item["fields"] == ["热解氮化硼"]
    assert item["display_name"] == of_rival.display_name


def test_bureau_removes_a_reviewer_who_then_reads_no_bid(client: TestClient, cast: Cast) -> None:
    expert = cast.assigned_expert
    r = client.delete(
        f"{API}/challenges/{cast.challenge.id}/reviewers/{expert.id}",
        headers=headers(cast.bureau),
    )
    assert r.status_code == 204, r.text
    assert reviewers(client, cast) == []
    assert client.get(f"{API}/bids/{cast.bid.id}", headers=headers(expert)).status_code == 404
    [event] = challenge_events(client, cast)
    assert event["action"] == "challenge.remove_reviewer"
    assert event["before"] == {"expert_id": expert.id, "status": "active"}
    # ...and may be assigned again.
    assert assign(client, cast, expert).status_code == 201


def test_removing_an_expert_who_is_not_assigned_is_404(client: TestClient, cast: Cast) -> None:
    r = client.delete(
        f"{API}/challenges/{cast.challenge.id}/reviewers/{cast.unassigned_expert.id}",
        headers=headers(cast.bureau),
    )
    assert_problem(r, 404, "reviewer_not_found")


def test_a_reviewer_who_has_reviewed_cannot_be_removed(client: TestClient, cast: Cast) -> None:
    assert review(client, cast.assigned_expert, cast.bid).status_code == 201
    r = client.delete(
        f"{API}/challenges/{cast.challenge.id}/reviewers/{cast.assigned_expert.id}",
        headers=headers(cast.bureau),
    )
    assert_problem(r, 409, "reviewer_has_reviews")
    assert len(reviewers(client, cast)) == 1


def test_reviewers_of_a_draft_do_not_exist_for_others(
    client: TestClient, session: Session, cast: Cast
) -> None:
    draft = make_challenge(session, owner=cast.owner, status=ChallengeStatus.draft)
    for user in (cast.other_enterprise, cast.bidder, cast.assigned_expert):
        r = client.get(f"{API}/challenges/{draft.id}/reviewers", headers=headers(user))
        assert_problem(r, 404, "challenge_not_found")
    r = client.get(f"{API}/challenges/{draft.id}/reviewers", headers=headers(cast.owner))
    assert r.status_code == 200


# --- criteria ---------------------------------------------------------------------------------


def test_a_challenge_without_criteria_has_the_four_defaults(client: TestClient, cast: Cast) -> None:
    r = client.get(f"{API}/challenges/{cast.challenge.id}/criteria")
    assert r.status_code == 200, r.text
    assert r.json() == DEFAULTS


def test_bureau_sets_criteria_that_reviews_then_use(client: TestClient, cast: Cast) -> None:
    criteria = [{"name": "技术先进性", "weight": 3}, {"name": "产业化前景", "weight": 1}]
    url = f"{API}/challenges/{cast.challenge.id}/criteria"
    r = client.put(url, json=criteria, headers=headers(cast.bureau))
    assert r.status_code == 200, r.text
    assert r.json() == criteria
    assert client.get(url, headers=headers(cast.owner)).json() == criteria
    [event] = challenge_events(client, cast)
    assert event["action"] == "challenge.set_criteria"
    assert (event["before"], event["after"]) == ({"criteria": DEFAULTS}, {"criteria": criteria})
    assert_problem(review(client, cast.assigned_expert, cast.bid), 422, "unknown_criteria")
    r = review(client, cast.assigned_expert, cast.bid, {"技术先进性": 80, "产业化前景": 60})
    assert r.status_code == 201, r.text
    assert r.json()["weighted_score"] == 75.0  # (80×3 + 60×1) / 4


def test_criteria_can_be_set_again_until_the_first_review(client: TestClient, cast: Cast) -> None:
    url = f"{API}/challenges/{cast.challenge.id}/criteria"
    assert client.put(url, json=[{"name": "甲", "weight": 1}], headers=headers(cast.bureau))
    r = client.put(url, json=DEFAULTS, headers=headers(cast.bureau))
    assert r.status_code == 200, r.text
    assert review(client, cast.assigned_expert, cast.bid).status_code == 201
    r = client.put(url, json=[{"name": "甲", "weight": 1}], headers=headers(cast.bureau))
    assert_problem(r, 409, "criteria_locked")
    assert client.get(url).json() == DEFAULTS


@pytest.mark.parametrize(
    "criteria",
    [
        [],
        [{"name": "甲", "weight": 0}],
        [{"name": "甲", "weight": -5}],
        [{"name": "甲", "weight": 1}, {"name": "甲", "weight": 2}],
        [{"name": f"指标{i}", "weight": 1} for i in range(21)],
        [{"name": "", "weight": 1}],
        [{"name": "甲"}],
        [{"name": "甲", "weight": 1, "colour": "red"}],
        {"name": "甲", "weight": 1},
    ],
)
def test_invalid_criteria_are_422(client: TestClient, cast: Cast, criteria: Any) -> None:
    r = client.put(
        f"{API}/challenges/{cast.challenge.id}/criteria",
        json=criteria,
        headers=headers(cast.bureau),
    )
    problem = assert_problem(r, 422, "validation_error")
    assert all(e["loc"][0] == "body" for e in problem["errors"])


def test_twenty_criteria_are_accepted(client: TestClient, cast: Cast) -> None:
    criteria = [{"name": f"指标{i}", "weight": 5} for i in range(20)]
    r = client.put(
        f"{API}/challenges/{cast.challenge.id}/criteria",
        json=criteria,
        headers=headers(cast.bureau),
    )
    assert r.status_code == 200, r.text


def test_criteria_of_an_awarded_challenge_cannot_change(
    client: TestClient, session: Session, cast: Cast
) -> None:
    cast.challenge.status = ChallengeStatus.awarded
    session.flush()
    r = client.put(
        f"{API}/challenges/{cast.challenge.id}/criteria",
        json=DEFAULTS,
        headers=headers(cast.bureau),
    )
    assert_problem(r, 409, "review_closed")


def test_criteria_of_a_draft_are_hidden_from_others(
    client: TestClient, session: Session, cast: Cast
) -> None:
    draft = make_challenge(session, owner=cast.owner, status=ChallengeStatus.draft)
    url = f"{API}/challenges/{draft.id}/criteria"
    assert_problem(client.get(url), 404, "challenge_not_found")
    assert_problem(client.get(url, headers=headers(cast.bidder)), 404, "challenge_not_found")
    assert client.get(url, headers=headers(cast.owner)).status_code == 200
    assert client.get(url, headers=headers(cast.bureau)).status_code == 200


# --- reviews ---------------------------------------------------------------------------------


def test_an_assigned_expert_scores_a_bid_and_the_review_is_audited(
    client: TestClient, cast: Cast
) -> None:
    r = review(client, cast.assigned_expert, cast.bid)
    assert r.status_code == 201, r.text
    data = r.json()
    assert (data["bid_id"], data["expert_id"], data["challenge_id"]) == (
        cast.bid.id,
        cast.assigned_expert.id,
        cast.challenge.id,
    )
    assert data["scores"] == SCORES
    assert data["weighted_score"] == 76.5
    assert (data["comment"], data["counted"]) == ("方案可行", True)
    events = client.get(
        f"{API}/audit-events",
        params={"object_type": "bid_review", "object_id": data["id"]},
        headers=headers(cast.bureau),
    ).json()["items"]
    assert [(e["action"], e["actor_id"]) for e in events] == [
        ("bid_review.submit", cast.assigned_expert.id)
    ]
    assert events[0]["after"]["weighted_score"] == "76.50"


def test_every_criterion_must_be_scored(client: TestClient, cast: Cast) -> None:
    partial = {k: v for k, v in SCORES.items() if k != "预算合理性"}
    problem = assert_problem(
        review(client, cast.assigned_expert, cast.bid, partial), 422, "missing_scores"
    )
    assert "预算合理性" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "scores"]


def test_scores_for_unknown_criteria_are_refused_by_name(client: TestClient, cast: Cast) -> None:
    scores = {**SCORES, "颜值": 100}
    problem = assert_problem(
        review(client, cast.assigned_expert, cast.bid, scores), 422, "unknown_criteria"
    )
    assert "颜值" in problem["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"scores": {**SCORES, "技术方案": 101}},
        {"scores": {**SCORES, "技术方案": -1}},
        {"scores": {**SCORES, "技术方案": "八十"}},
        {"comment": "只写评语"},
        {},
        {"conflict": True},
        {"conflict": True, "reason": "   "},
        {"conflict": True, "reason": "同事", "scores": SCORES},
        {"scores": SCORES, "stars": 5},
    ],
)
def test_invalid_review_bodies_are_422(
    client: TestClient, cast: Cast, body: dict[str, Any]
) -> None:
    r = client.post(
        f"{API}/bids/{cast.bid.id}/reviews", json=body, headers=headers(cast.assigned_expert)
    )
    assert_problem(r, 422, "validation_error")


def test_scores_of_zero_and_a_hundred_are_accepted(client: TestClient, cast: Cast) -> None:
    scores = {"技术方案": 100, "团队与研究基础": 0, "预算合理性": 0, "进度可行性": 100}
    r = review(client, cast.assigned_expert, cast.bid, scores)
    assert r.status_code == 201, r.text
    assert r.json()["weighted_score"] == 60.0


def test_one_review_per_expert_per_bid(client: TestClient, cast: Cast) -> None:
    assert review(client, cast.assigned_expert, cast.bid).status_code == 201
    assert_problem(review(client, cast.assigned_expert, cast.bid, HIGH), 409, "duplicate_review")
    r = client.get(f"{API}/bids/{cast.bid.id}/reviews", headers=headers(cast.bureau))
    assert [item["scores"] for item in r.json()["items"]] == [SCORES]


def test_the_database_refuses_a_second_review_by_the_same_expert(
    session: Session, cast: Cast
) -> None:
    def row() -> BidReview:
        return BidReview(
            bid_id=cast.bid.id,
            challenge_id=cast.challenge.id,
            expert_id=cast.assigned_expert.id,
            scores=SCORES,
            weighted_score=76.5,
            comment="",
        )

    session.add(row())
    session.flush()
    savepoint = session.begin_nested()
    session.add(row())
    with pytest.raises(IntegrityError):
        session.flush()
    savepoint.rollback()


def test_a_closed_challenge_still_takes_reviews(
    client: TestClient, session: Session, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = cast.challenge.deadline + timedelta(minutes=1)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    r = review(client, cast.assigned_expert, cast.bid)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("status", [ChallengeStatus.awarded, ChallengeStatus.cancelled])
def test_no_review_after_the_award_or_a_cancellation(
    client: TestClient, session: Session, cast: Cast, status: ChallengeStatus
) -> None:
    cast.challenge.status = status
    session.flush()
    assert_problem(review(client, cast.assigned_expert, cast.bid), 409, "challenge_not_open")


@pytest.mark.parametrize("status", [BidStatus.withdrawn, BidStatus.rejected])
def test_a_bid_that_is_no_longer_live_is_not_reviewed(
    client: TestClient, session: Session, cast: Cast, status: BidStatus
) -> None:
    cast.bid.status = status
    session.flush()
    assert_problem(review(client, cast.assigned_expert, cast.bid), 409, "invalid_transition")


def test_an_expert_declares_a_conflict_and_is_recused(client: TestClient, cast: Cast) -> None:
    r = declare_conflict(client, cast.assigned_expert, cast.bid)
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["expert_id"], data["status"]) == (cast.assigned_expert.id, "recused")
    assert data["recusal_reason"] == "本人是申报团队成员的导师"
    [event] = challenge_events(client, cast)
    assert event["action"] == "challenge.recuse_reviewer"
    assert (event["actor_id"], event["reason"]) == (
        cast.assigned_expert.id,
        "本人是申报团队成员的导师",
    )
    assert_problem(review(client, cast.assigned_expert, cast.bid), 409, "reviewer_recused")
    assert_problem(
        declare_conflict(client, cast.assigned_expert, cast.bid), 409, "reviewer_recused"
    )
    expert = headers(cast.assigned_expert)
    assert client.get(f"{API}/bids/{cast.bid.id}", headers=expert).status_code == 404
    assert client.get(f"{API}/bids/{cast.bid.id}/reviews", headers=expert).status_code == 404
    listed = client.get(f"{API}/challenges/{cast.challenge.id}/bids", headers=expert)
    assert_problem(listed, 403, "role_not_allowed")


def test_a_recused_experts_reviews_are_kept_but_not_counted(
    client: TestClient, session: Session, cast: Cast
) -> None:
    other_bid = second_bid(session, cast)
    colleague = make_expert(session, bureau=cast.bureau)
    assign_expert(session, challenge=cast.challenge, expert=colleague)
    assert review(client, cast.assigned_expert, cast.bid, HIGH).status_code == 201
    assert review(client, colleague, cast.bid).status_code == 201
    assert declare_conflict(client, cast.assigned_expert, other_bid).status_code == 200
    r = client.get(f"{API}/bids/{cast.bid.id}/reviews", headers=headers(cast.owner)).json()
    assert [(i["expert_id"], i["counted"]) for i in r["items"]] == [
        (cast.assigned_expert.id, False),
        (colleague.id, True),
    ]
    assert r["weighted_score"] == 76.5
    ranking = client.get(
        f"{API}/challenges/{cast.challenge.id}/ranking", headers=headers(cast.owner)
    ).json()
    assert [(i["id"], i["reviews"]) for i in ranking["items"]] == [
        (cast.bid.id, 1),
        (other_bid.id, 0),
    ]


# --- reading reviews -------------------------------------------------------------------------


def test_owner_and_bureau_see_every_review_and_the_weighted_mean(
    client: TestClient, session: Session, cast: Cast
) -> None:
    colleague = make_expert(session, bureau=cast.bureau)
    assign_expert(session, challenge=cast.challenge, expert=colleague)
    assert review(client, cast.assigned_expert, cast.bid).status_code == 201
    assert review(client, colleague, cast.bid, HIGH).status_code == 201
    for user in (cast.owner, cast.bureau):
        r = client.get(f"{API}/bids/{cast.bid.id}/reviews", headers=headers(user))
        assert r.status_code == 200, r.text
        data = r.json()
        assert [i["weighted_score"] for i in data["items"]] == [76.5, 90.0]
        assert data["weighted_score"] == 83.25


def test_an_unreviewed_bid_has_no_weighted_score(client: TestClient, cast: Cast) -> None:
    r = client.get(f"{API}/bids/{cast.bid.id}/reviews", headers=headers(cast.owner))
    assert r.json() == {"items": [], "weighted_score": None}


def test_an_expert_sees_no_other_scores_before_submitting_their_own(
    client: TestClient, session: Session, cast: Cast
) -> None:
    colleague = make_expert(session, bureau=cast.bureau)
    assign_expert(session, challenge=cast.challenge, expert=colleague)
    assert review(client, colleague, cast.bid, HIGH).status_code == 201
    url = f"{API}/bids/{cast.bid.id}/reviews"
    before = client.get(url, headers=headers(cast.assigned_expert))
    assert before.status_code == 200, before.text
    assert before.json() == {"items": [], "weighted_score": None}
    assert review(client, cast.assigned_expert, cast.bid).status_code == 201
    after = client.get(url, headers=headers(cast.assigned_expert)).json()
    assert [i["expert_id"] for i in after["items"]] == [colleague.id, cast.assigned_expert.id]
    assert after["weighted_score"] == 83.25


def test_an_experts_review_of_one_bid_shows_nothing_of_another(
    client: TestClient, session: Session, cast: Cast
) -> None:
    other_bid = second_bid(session, cast)
    colleague = make_expert(session, bureau=cast.bureau)
    assign_expert(session, challenge=cast.challenge, expert=colleague)
    assert review(client, colleague, other_bid, HIGH).status_code == 201
    assert review(client, cast.assigned_expert, cast.bid).status_code == 201
    r = client.get(f"{API}/bids/{other_bid.id}/reviews", headers=headers(cast.assigned_expert))
    assert r.json() == {"items": [], "weighted_score": None}


# --- ranking ---------------------------------------------------------------------------------


def test_ranking_is_best_first_then_ties_by_id_then_unreviewed(
    client: TestClient, session: Session, cast: Cast
) -> None:
    universities = [make_user(session, kind=OrganizationKind.university) for _ in range(4)]
    low, tie_a, tie_b, unreviewed = (
        make_bid(session, challenge=cast.challenge, bidder=u) for u in universities
    )
    withdrawn = make_bid(
        session, challenge=cast.challenge, bidder=cast.rival, status=BidStatus.withdrawn
    )
    expert = cast.assigned_expert
    for bid, scores in ((low, SCORES), (tie_b, HIGH), (tie_a, HIGH)):
        assert review(client, expert, bid, scores).status_code == 201
    r = client.get(f"{API}/challenges/{cast.challenge.id}/ranking", headers=headers(cast.bureau))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["id"] for i in items] == [tie_a.id, tie_b.id, low.id, cast.bid.id, unreviewed.id]
    assert withdrawn.id not in [i["id"] for i in items]
    assert [(i["weighted_score"], i["reviews"]) for i in items] == [
        (90.0, 1),
        (90.0, 1),
        (76.5, 1),
        (None, 0),
        (None, 0),
    ]
    first = items[0]
    assert (first["organization_id"], first["status"]) == (tie_a.organization_id, "submitted")
    assert first["indicators"] == [{"name": "纯度", "promised": "达到≥99.99"}]


def test_ranking_of_a_draft_is_hidden_from_others(
    client: TestClient, session: Session, cast: Cast
) -> None:
    draft = make_challenge(session, owner=cast.owner, status=ChallengeStatus.draft)
    r = client.get(f"{API}/challenges/{draft.id}/ranking", headers=headers(cast.other_enterprise))
    assert_problem(r, 404, "challenge_not_found")
    r = client.get(f"{API}/challenges/{draft.id}/ranking", headers=headers(cast.owner))
    assert r.json() == {"items": []}


# --- who reads the bids ------------------------------------------------------------------------


def test_an_assigned_expert_reads_every_bid_of_the_challenge(
    client: TestClient, session: Session, cast: Cast
) -> None:
    other_bid = second_bid(session, cast)
    expert = headers(cast.assigned_expert)
    assert client.get(f"{API}/bids/{other_bid.id}", headers=expert).status_code == 200
    listed = client.get(f"{API}/challenges/{cast.challenge.id}/bids", headers=expert)
    assert [b["id"] for b in listed.json()["items"]] == [cast.bid.id, other_bid.id]


def test_an_expert_assigned_elsewhere_reads_no_bid_here(
    client: TestClient, session: Session, cast: Cast
) -> None:
    elsewhere = make_challenge(session, owner=cast.owner)
    assign_expert(session, challenge=elsewhere, expert=cast.unassigned_expert)
    expert = headers(cast.unassigned_expert)
    assert_problem(client.get(f"{API}/bids/{cast.bid.id}", headers=expert), 404, "bid_not_found")
    listed = client.get(f"{API}/challenges/{cast.challenge.id}/bids", headers=expert)
    assert_problem(listed, 403, "role_not_allowed")


def test_a_recused_assignment_gives_no_access(
    client: TestClient, session: Session, cast: Cast
) -> None:
    assignment = session.scalar(
        select(ReviewAssignment).where(ReviewAssignment.expert_id == cast.assigned_expert.id)
    )
    assert assignment is not None
    assignment.status = AssignmentStatus.recused
    session.flush()
    expert = headers(cast.assigned_expert)
    assert client.get(f"{API}/bids/{cast.bid.id}", headers=expert).status_code == 404


# --- permissions, route by route ---------------------------------------------------------------

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


def _matrix(**codes: int) -> list[int]:
    return [codes[role] for role in ROLES]


# route: (method, path template, body, expected status per role in ROLES order)
ROUTES: dict[str, tuple[str, str, Any, list[int]]] = {
    "assign": (
        "POST",
        "challenges/{challenge}/reviewers",
        {"expert_id": "{unassigned_expert}"},
        _matrix(
            anonymous=401,
            owner=403,
            other_enterprise=403,
            bidder=403,
            rival=403,
            assigned_expert=403,
            unassigned_expert=403,
            bureau=201,
        ),
    ),
    "list reviewers": (
        "GET",
        "challenges/{challenge}/reviewers",
        None,
        _matrix(
            anonymous=401,
            owner=200,
            other_enterprise=403,
            bidder=403,
            rival=403,
            assigned_expert=403,
            unassigned_expert=403,
            bureau=200,
        ),
    ),
    "remove reviewer": (
        "DELETE",
        "challenges/{challenge}/reviewers/{assigned_expert}",
        None,
        _matrix(
            anonymous=401,
            owner=403,
            other_enterprise=403,
            bidder=403,
            rival=403,
            assigned_expert=403,
            unassigned_expert=403,
            bureau=204,
        ),
    ),
    "set criteria": (
        "PUT",
        "challenges/{challenge}/criteria",
        DEFAULTS,
        _matrix(
            anonymous=401,
            owner=403,
            other_enterprise=403,
            bidder=403,
            rival=403,
            assigned_expert=403,
            unassigned_expert=403,
            bureau=200,
        ),
    ),
    "get criteria": (
        "GET",
        "challenges/{challenge}/criteria",
        None,
        _matrix(
            anonymous=200,
            owner=200,
            other_enterprise=200,
            bidder=200,
            rival=200,
            assigned_expert=200,
            unassigned_expert=200,
            bureau=200,
        ),
    ),
    "review": (
        "POST",
        "bids/{bid}/reviews",
        {"scores": SCORES},
        _matrix(
            anonymous=401,
            owner=403,
            other_enterprise=404,
            bidder=403,
            rival=404,
            assigned_expert=201,
            unassigned_expert=404,
            bureau=403,
        ),
    ),
    "declare conflict": (
        "POST",
        "bids/{bid}/reviews",
        {"conflict": True, "reason": "亲属关系"},
        _matrix(
            anonymous=401,
            owner=403,
            other_enterprise=404,
            bidder=403,
            rival=404,
            assigned_expert=200,
            unassigned_expert=404,
            bureau=403,
        ),
    ),
    "list reviews": (
        "GET",
        "bids/{bid}/reviews",
        None,
        _matrix(
            anonymous=401,
            owner=200,
            other_enterprise=404,
            bidder=403,
            rival=404,
            assigned_expert=200,
            unassigned_expert=404,
            bureau=200,
        ),
    ),
    "ranking": (
        "GET",
        "challenges/{challenge}/ranking",
        None,
        _matrix(
            anonymous=401,
            owner=200,
            other_enterprise=403,
            bidder=403,
            rival=403,
            assigned_expert=403,
            unassigned_expert=403,
            bureau=200,
        ),
    ),
    "get bid": (
        "GET",
        "bids/{bid}",
        None,
        _matrix(
            anonymous=401,
            owner=200,
            other_enterprise=404,
            bidder=200,
            rival=404,
            assigned_expert=200,
            unassigned_expert=404,
            bureau=200,
        ),
    ),
    "list bids": (
        "GET",
        "challenges/{challenge}/bids",
        None,
        _matrix(
            anonymous=401,
            owner=200,
            other_enterprise=403,
            bidder=200,
            rival=200,
            assigned_expert=200,
            unassigned_expert=403,
            bureau=200,
        ),
    ),
}
CASES = [
    pytest.param(name, role, expected[i], id=f"{name}-{role}")
    for name, (_, _, _, expected) in ROUTES.items()
    for i, role in enumerate(ROLES)
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize(("route", "role", "expected"), CASES)
def test_who_may_use_each_review_route(
    client: TestClient, cast: Cast, route: str, role: str, expected: int
) -> None:
    method, template, body, _ = ROUTES[route]
    ids = {
        "challenge": cast.challenge.id,
        "bid": cast.bid.id,
        "assigned_expert": cast.assigned_expert.id,
        "unassigned_expert": cast.unassigned_expert.id,
    }
    path = template.format(**ids)
    r = client.request(
        method, f"{API}/{path}", json=_fill(body, ids), headers=auth(cast.user(role))
    )
    assert r.status_code == expected, r.text
    if expected >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


def test_a_rival_bidder_lists_only_its_own_bid(
    client: TestClient, session: Session, cast: Cast
) -> None:
    own = second_bid(session, cast)
    r = client.get(f"{API}/challenges/{cast.challenge.id}/bids", headers=headers(cast.rival))
    assert [b["id"] for b in r.json()["items"]] == [own.id]
    assert (
        client.get(f"{API}/bids/{cast.bid.id}/reviews", headers=headers(cast.rival)).status_code
        == 404
    )
    r = client.get(f"{API}/bids/{own.id}/reviews", headers=headers(cast.rival))
    assert_problem(r, 403, "role_not_allowed")
