"""Disbursements racing through a real server never pass the government share.

Ten bureau requests of 30 万元 at once on a share of 90: exactly three are recorded, the other
seven answer 409 `over_funding`, nobody gets a 5xx, and the project's `disbursed` equals the
sum of the stored rows. The guard is the database's CHECK `disbursed <= government_funding`
behind one `UPDATE ... SET disbursed = disbursed + :amount`: a read-then-write check in Python
lets every racer read the same sum on PostgreSQL and all ten "succeed" (tried: this test then
fails on PostgreSQL; on SQLite writers run one at a time, so both pass there).
"""

from decimal import Decimal

from sqlalchemy import func, select

from app.db import get_session_factory
from app.models import AuditEvent, Disbursement, Notification, NotificationKind, Project
from tests.factories import headers
from tests.project_factories import make_world
from tests.races import Call, fire

RACERS = 10
SHARE = Decimal("90.00")
AMOUNT = "30.00"


def test_parallel_disbursements_never_pass_the_government_share(server: str) -> None:
    with get_session_factory()() as session:
        world = make_world(session, government_funding=SHARE)
        session.commit()
        project_id, bureau, performer = world.project.id, world.bureau, world.performer
        token = headers(bureau)

    path = f"/projects/{project_id}/disbursements"
    calls = [
        Call("disburse", "POST", path, token, {"amount": AMOUNT, "note": f"第{i + 1}笔"})
        for i in range(RACERS)
    ]
    answers = fire(server, calls)

    assert [a for a in answers if a.status >= 500] == []
    outcomes = sorted((a.status, a.code) for a in answers)
    assert outcomes == [(201, None)] * 3 + [(409, "over_funding")] * (RACERS - 3)
    for answer in answers:
        if answer.status == 409:
            assert "尚可拨付 0.00 万元" in answer.body["detail"], answer.body

    with get_session_factory()() as session:
        project = session.get(Project, project_id)
        assert project is not None
        rows = session.scalar(
            select(func.sum(Disbursement.amount)).where(Disbursement.project_id == project_id)
        )
        assert project.disbursed == rows == SHARE
        count = select(func.count()).select_from(AuditEvent)
        assert session.scalar(count.where(AuditEvent.action == "project.disburse")) == 3
        told = select(func.count()).select_from(Notification)
        assert (
            session.scalar(
                told.where(
                    Notification.kind == NotificationKind.funds_disbursed,
                    Notification.user_id == performer.id,
                )
            )
            == 3
        )
