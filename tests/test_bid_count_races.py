"""A challenge's bid count under parallel bids through the real server: exact, never lost.

`challenge.bid_count` is raised in each bid's transaction (services.bids.add_bid), under the
challenge's row lock; a bid refused (a duplicate of the same organisation) leaves it as it was.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import get_session_factory
from app.models import Bid, Challenge, OrganizationKind
from tests.factories import BID_BODY, headers, make_bid, make_challenge, make_user
from tests.races import Call, count, fire

BIDDERS = 10


def test_parallel_bids_keep_the_challenge_bid_count_exact(server: str) -> None:
    with get_session_factory()() as session:
        owner = make_user(session)
        challenge = make_challenge(session, owner=owner, region="211303")
        earlier = make_user(session, kind=OrganizationKind.university)
        make_bid(session, challenge=challenge, bidder=earlier)
        researchers = [make_user(session, kind=OrganizationKind.university) for _ in range(BIDDERS)]
        colleagues = [make_user(session, organization=r.organization) for r in researchers[:3]]
        session.commit()
        path = f"/challenges/{challenge.id}/bids"
        bidders = [*researchers, *colleagues]
        calls = [Call("bid", "POST", path, headers(r), BID_BODY) for r in bidders]
        withdraw = f"/bids/{_only_bid(session, challenge)}/withdraw"
        calls.append(Call("withdraw", "POST", withdraw, headers(earlier)))

    answers = fire(server, calls)

    assert [a.status for a in answers if a.status not in (201, 409)] == [200]  # the withdrawal
    created = sum(1 for a in answers if a.status == 201)
    assert created == BIDDERS  # one per organisation; the colleagues' second bids are 409
    assert sorted(a.code for a in answers if a.status == 409) == ["duplicate_bid"] * 3
    with get_session_factory()() as session:
        stored = session.get(Challenge, challenge.id)
        assert stored is not None
        bids = count(session, Bid, Bid.challenge_id == challenge.id)
        assert bids == 1 + BIDDERS  # the withdrawn bid still counts: bids received
        assert stored.bid_count == bids
        places = session.execute(
            select(Bid.sector, Bid.region).where(Bid.challenge_id == challenge.id).distinct()
        ).all()
        assert places == [(stored.sector, "211303")]


def _only_bid(session: Session, challenge: Challenge) -> int:
    return session.scalars(select(Bid.id).where(Bid.challenge_id == challenge.id)).one()
