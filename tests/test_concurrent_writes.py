"""Many writers at once through the real server: nobody gets a 5xx, every invariant holds.

The server is uvicorn in a subprocess on a fresh database: a SQLite file, and PostgreSQL when
POSTGRES_URL is given. On SQLite a transaction that will write begins with `BEGIN IMMEDIATE`, so
writers queue for the lock (with the busy timeout) instead of failing when a deferred
transaction cannot upgrade; on PostgreSQL row locks order them. Either way the answers are the
same: 201 or 200 for the first, 409 where a rule says no, never 503.
"""

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import get_session_factory
from app.models import (
    LIVE_BID_STATUSES,
    AuditEvent,
    Bid,
    BidStatus,
    Capability,
    Challenge,
    ChallengeStatus,
    MatchTerm,
    Organization,
    OrganizationKind,
    Project,
    User,
)
from app.models.challenge import DEADLINE_PASSED
from tests.factories import (
    BID_BODY,
    headers,
    make_bid,
    make_capability,
    make_challenge,
    make_user,
)
from tests.races import REQUEST_TIMEOUT, Answer, Call, audited, count, fire

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"


@dataclass
class Scene:
    staff: User
    owner: User
    researchers: list[User]
    colleague: User  # of researchers[0]'s organisation
    open_challenge: Challenge  # every researcher bids on it
    award_challenge: Challenge
    nominated: Bid
    rival: Bid
    nominate_challenge: Challenge
    candidates: list[Bid]
    cancel_challenge: Challenge  # the bureau cancels it while its one bidder withdraws
    withdrawing: Bid
    expired: Challenge  # published, deadline passed, the stored row still says published


def arrange(session: Session) -> Scene:
    staff = make_user(session, kind=OrganizationKind.bureau)
    owner = make_user(session)
    researchers = [make_user(session, kind=OrganizationKind.university) for _ in range(6)]
    colleague = make_user(session, organization=researchers[0].organization)
    award_challenge = make_challenge(session, owner=owner, title="洁净钢夹杂物控制")
    nominate_challenge = make_challenge(session, owner=owner, title="玉米芯综合利用")
    cancel_challenge = make_challenge(session, owner=owner, title="杂粮抗回生")
    scene = Scene(
        staff=staff,
        owner=owner,
        researchers=researchers,
        colleague=colleague,
        open_challenge=make_challenge(session, owner=owner, title="热解氮化硼坩埚"),
        award_challenge=award_challenge,
        nominated=make_bid(
            session, challenge=award_challenge, bidder=researchers[0], status=BidStatus.nominated
        ),
        rival=make_bid(session, challenge=award_challenge, bidder=researchers[1]),
        nominate_challenge=nominate_challenge,
        candidates=[
            make_bid(session, challenge=nominate_challenge, bidder=r) for r in researchers[2:5]
        ],
        cancel_challenge=cancel_challenge,
        withdrawing=make_bid(session, challenge=cancel_challenge, bidder=researchers[5]),
        expired=make_challenge(session, owner=owner, title="已过截止时间", deadline_days=-1),
    )
    session.commit()
    return scene


def registration(name: str) -> dict[str, object]:
    return {
        "organization": {"kind": "university", "name": name, "region": "211302"},
        "user": {
            "username": f"reg_{uuid.uuid4().hex[:10]}",
            "password": f"Kq7!vT2m-{uuid.uuid4()}",
            "display_name": "注册者",
        },
    }


def burst(scene: Scene) -> list[Call]:
    """Writes of every kind at once, and anonymous reads that once swept the deadlines."""
    calls = [
        Call(
            "capability",
            "POST",
            "/capabilities",
            headers(researcher),
            {"title": f"化学气相沉积平台{i}", "description": "热解氮化硼", "tags": []},
        )
        for i, researcher in enumerate(scene.researchers)
    ]
    # Every researcher bids on one challenge; two colleagues of one organisation both try.
    open_bids = f"/challenges/{scene.open_challenge.id}/bids"
    calls += [
        Call("bid", "POST", open_bids, headers(bidder), BID_BODY)
        for bidder in [*scene.researchers, scene.colleague]
    ]
    calls += [Call("award", "POST", f"/bids/{scene.nominated.id}/award", headers(scene.staff))] * 4
    calls += [
        Call("nominate", "POST", f"/bids/{bid.id}/nominate", headers(scene.owner))
        for bid in scene.candidates
    ]
    calls += [
        Call("register", "POST", "/organizations/register", None, registration(f"并发大学{i}"))
        for i in range(4)
    ]
    calls += [
        Call(
            "cancel",
            "POST",
            f"/challenges/{scene.cancel_challenge.id}/cancel",
            headers(scene.staff),
            {"reason": "企业已自行解决"},
        ),
        Call(
            "withdraw",
            "POST",
            f"/bids/{scene.withdrawing.id}/withdraw",
            headers(scene.researchers[5]),
        ),
    ]
    calls += [
        Call("term", "POST", "/matching/terms", headers(scene.staff), {"term": term})
        for term in ("热解氮化硼坩埚", "夹杂物控制")
    ]
    expired = f"/challenges/{scene.expired.id}"
    late = headers(scene.researchers[5])
    calls += [
        Call("bid after deadline", "POST", f"{expired}/bids", late, BID_BODY),
        Call("close after deadline", "POST", f"{expired}/close", headers(scene.owner)),
    ]
    for _ in range(3):  # anonymous reads that used to close the expired challenge as they went
        calls += [
            Call("read expired", "GET", expired),
            Call("list", "GET", "/challenges"),
            Call("list closed", "GET", "/challenges?status=closed"),
        ]
    return calls


def outcomes(answers: list[Answer]) -> list[tuple[int, str | None]]:
    return sorted(((a.status, a.code) for a in answers), key=str)


def test_parallel_writes_of_every_kind_never_fail_and_keep_the_invariants(
    server: str, tmp_path: Path
) -> None:
    with get_session_factory()() as session:
        scene = arrange(session)
    calls = burst(scene)
    assert sum(c.method == "POST" for c in calls) >= 20

    answers = fire(server, calls)

    failures = [(c.kind, a) for c, a in zip(calls, answers, strict=True) if a.status >= 500]
    assert failures == [], failures
    of: dict[str, list[Answer]] = {}
    for call, answer in zip(calls, answers, strict=True):
        of.setdefault(call.kind, []).append(answer)
    assert outcomes(of["capability"]) == [(201, None)] * 6
    assert outcomes(of["bid"]) == [(201, None)] * 6 + [(409, "duplicate_bid")]
    assert [s for s, _ in outcomes(of["award"])] == [200, 409, 409, 409]
    losers = {a.code for a in of["award"] if a.status == 409}
    assert losers <= {"challenge_not_open", "invalid_transition"}, of["award"]
    assert outcomes(of["nominate"]) == [(200, None)] + [(409, "already_nominated")] * 2
    assert outcomes(of["register"]) == [(201, None)] * 4
    assert outcomes(of["cancel"]) == [(200, None)]
    # Withdrawn first, or rejected by the cancellation first: either order is a right answer.
    assert outcomes(of["withdraw"]) in ([(200, None)], [(409, "invalid_transition")])
    assert outcomes(of["term"]) == [(201, None)] * 2
    assert outcomes(of["bid after deadline"]) == [(409, "bidding_closed")]
    assert outcomes(of["close after deadline"]) == [(409, "invalid_transition")]
    for answer in of["read expired"]:
        assert (answer.status, answer.body["status"]) == (200, "closed")
    for answer in of["list closed"]:
        assert answer.status == 200
        assert [i["id"] for i in answer.body["items"]] == [scene.expired.id]
    assert outcomes(of["list"]) == [(200, None)] * 3

    with get_session_factory()() as session:
        # Capabilities: one each, one audit event each.
        assert count(session, Capability) == 6
        assert audited(session, "capability.create") == 6
        # Bids: one live bid per organisation, one audit event per bid.
        live = session.execute(
            select(Bid.organization_id, func.count())
            .where(Bid.challenge_id == scene.open_challenge.id, Bid.status.in_(LIVE_BID_STATUSES))
            .group_by(Bid.organization_id)
        ).all()
        assert sorted(n for _, n in live) == [1] * 6
        bids = session.scalars(select(Bid.id).where(Bid.challenge_id == scene.open_challenge.id))
        for bid_id in bids:
            assert audited(session, "bid.submit", bid_id) == 1
        # Every challenge's bid count is its bids (raised in each bid's transaction).
        for challenge in session.scalars(select(Challenge)):
            assert challenge.bid_count == count(session, Bid, Bid.challenge_id == challenge.id)
        # The award: one project, one award of the bid and of the challenge, the rival rejected.
        assert count(session, Project, Project.challenge_id == scene.award_challenge.id) == 1
        assert audited(session, "project.create") == 1
        assert audited(session, "bid.award", scene.nominated.id) == 1
        assert audited(session, "challenge.award", scene.award_challenge.id) == 1
        assert audited(session, "bid.reject", scene.rival.id) == 1
        assert status_of(session, scene.award_challenge) is ChallengeStatus.awarded
        # Nominations: one chosen bid, one audit event.
        statuses = session.scalars(
            select(Bid.status).where(Bid.challenge_id == scene.nominate_challenge.id)
        ).all()
        assert sorted(statuses) == sorted([BidStatus.nominated] + [BidStatus.submitted] * 2)
        assert sum(audited(session, "bid.nominate", b.id) for b in scene.candidates) == 1
        # Cancel against withdraw: the bid ended once, as its answer said.
        assert status_of(session, scene.cancel_challenge) is ChallengeStatus.cancelled
        assert audited(session, "challenge.cancel", scene.cancel_challenge.id) == 1
        bid = session.get(Bid, scene.withdrawing.id)
        assert bid is not None
        withdrawn = of["withdraw"][0].status == 200
        assert bid.status is (BidStatus.withdrawn if withdrawn else BidStatus.rejected)
        assert audited(session, "bid.withdraw", bid.id) == int(withdrawn)
        assert audited(session, "bid.reject", bid.id) == int(not withdrawn)
        # Registrations and terms: every one stored once, audited once.
        names = [f"并发大学{i}" for i in range(4)]
        assert count(session, Organization, Organization.name.in_(names)) == 4
        assert audited(session, "organization.register") == 4
        assert count(session, MatchTerm) == 2
        assert audited(session, "matching.term_add") == 2
        # The expired challenge: refused writes rolled back, reads wrote nothing.
        assert status_of(session, scene.expired) is ChallengeStatus.published
        assert audited(session, "challenge.close", scene.expired.id) == 0
        assert count(session, Bid, Bid.challenge_id == scene.expired.id) == 0

    run_close_expired_twice_at_once(scene.expired.id, tmp_path / "jobs")


def status_of(session: Session, challenge: Challenge) -> ChallengeStatus:
    stored = session.get(Challenge, challenge.id, populate_existing=True)
    assert stored is not None
    return stored.status


# Each job process imports, says it is ready, and waits for one signal: the two then close at
# the same moment instead of one after the other's imports.
GATED_JOB = """
import os, sys, time
from pathlib import Path
from app.jobs import main
(Path(sys.argv[1]) / str(os.getpid())).touch()
deadline = time.monotonic() + 60
while not Path(sys.argv[2]).exists() and time.monotonic() < deadline:
    time.sleep(0.001)
main(["close-expired"])
"""


def run_close_expired_twice_at_once(challenge_id: int, gates: Path) -> None:
    """Two closing jobs at the same moment close the expired challenge once."""
    ready, go = gates / "ready", gates / "go"
    ready.mkdir(parents=True)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", GATED_JOB, str(ready), str(go)],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + REQUEST_TIMEOUT
        while len(list(ready.iterdir())) < 2 and time.monotonic() < deadline:
            assert all(proc.poll() is None for proc in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        assert len(list(ready.iterdir())) == 2, "the jobs did not start"
        go.touch()
        for proc in procs:
            _, err = proc.communicate(timeout=REQUEST_TIMEOUT)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    with get_session_factory()() as session:
        challenge = session.get(Challenge, challenge_id)
        assert challenge is not None
        assert challenge.status is ChallengeStatus.closed
        assert challenge.status_reason == DEADLINE_PASSED
        (event,) = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "challenge.close", AuditEvent.object_id == challenge_id
            )
        )
        assert event.actor_id is None
        assert event.reason == DEADLINE_PASSED


# Races of an edit or a deletion with a deletion, through the real server on each database.
ROUNDS = 10  # the two requests interleave differently from round to round


def _capability_of_new_university() -> tuple[int, dict[str, str], int]:
    """A new capability, its owner's token, and the last audit event's id before the race.

    SQLite hands a deleted row's id to the next row when it was the highest, so a round counts
    only the audit events after its own start.
    """
    with get_session_factory().begin() as session:
        university = make_user(session, kind=OrganizationKind.university)
        capability = make_capability(session, owner=university)
        mark = session.scalar(select(func.max(AuditEvent.id))) or 0
        return capability.id, headers(university), mark


def test_an_edit_racing_a_deletion_is_never_a_500(server: str) -> None:
    for _ in range(ROUNDS):
        capability_id, token, mark = _capability_of_new_university()
        path = f"/capabilities/{capability_id}"
        patch, delete = fire(
            server,
            [
                Call("edit", "PATCH", path, token, {"title": "改后的团队"}),
                Call("delete", "DELETE", path, token),
            ],
        )
        # The edit came first (200, then deleted) or found the row gone (404).
        assert patch.status in {200, 404}, patch
        assert delete.status == 204, delete
        with get_session_factory()() as session:
            assert session.get(Capability, capability_id) is None
            assert audited(session, "capability.delete", capability_id, after=mark) == 1
            edited = 1 if patch.status == 200 else 0
            assert audited(session, "capability.update", capability_id, after=mark) == edited


def test_two_deletions_of_one_capability_answer_204_and_404_with_one_audit_event(
    server: str,
) -> None:
    for _ in range(ROUNDS // 2):
        capability_id, token, mark = _capability_of_new_university()
        path = f"/capabilities/{capability_id}"
        answers = fire(server, [Call("delete", "DELETE", path, token)] * 2)

        assert outcomes(answers) == [(204, None), (404, "capability_not_found")], answers
        with get_session_factory()() as session:
            assert audited(session, "capability.delete", capability_id, after=mark) == 1


def test_two_deletions_of_one_term_answer_204_and_404_with_one_audit_event(server: str) -> None:
    with get_session_factory().begin() as session:
        staff = make_user(session, kind=OrganizationKind.bureau)
        term = MatchTerm(term="氮化硼坩埚", canonical=None, created_by_id=staff.id)
        session.add(term)
        session.flush()
        term_id, token = term.id, headers(staff)

    answers = fire(server, [Call("delete", "DELETE", f"/matching/terms/{term_id}", token)] * 2)

    assert sorted(a.status for a in answers) == [204, 404], answers
    with get_session_factory()() as session:
        assert audited(session, "matching.term_delete", term_id) == 1
