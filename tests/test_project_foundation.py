"""The project's time rules and the database's own guards, below the routes."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import db
from app.models import MilestoneStatus, Project, ProjectStatus
from app.services.calendar import working_days_end
from tests.project_factories import make_world

# 2026-10-01..07 is the National Day holiday; Friday 2026-09-25, 09:00 in China.
NATIONAL_DAY = [date(2026, 10, d) for d in range(1, 8)]
FRIDAY = datetime(2026, 9, 25, 1, 0, tzinfo=UTC)


def test_five_working_days_skip_the_weekend() -> None:
    end = working_days_end(FRIDAY, 5, [])
    # Mon 28 Sep .. Fri 2 Oct, ending as Saturday 3 Oct begins in China.
    assert end == datetime(2026, 10, 3, tzinfo=db.CHINA)


def test_working_days_skip_the_holidays() -> None:
    end = working_days_end(FRIDAY, 5, NATIONAL_DAY)
    # Mon 28, Tue 29, Wed 30 Sep, then Thu 8 and Fri 9 Oct.
    assert end == datetime(2026, 10, 10, tzinfo=db.CHINA)


def test_zero_working_days_end_at_once() -> None:
    assert working_days_end(FRIDAY, 0, NATIONAL_DAY) == FRIDAY


def test_notice_period_reads_as_signing_once_it_has_ended(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(session, status=ProjectStatus.publicity)
    project = world.project
    assert project.current_status is ProjectStatus.publicity
    later = db.utcnow() + timedelta(days=8)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    assert project.current_status is ProjectStatus.signing
    assert project.status is ProjectStatus.publicity  # nothing was written
    project.open_objections = 1
    assert project.current_status is ProjectStatus.publicity


def test_a_milestone_past_its_date_reads_as_overdue_until_accepted(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    milestone = make_world(session).milestones[0]
    assert milestone.current_status is MilestoneStatus.planned
    later = db.utcnow() + timedelta(days=120)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    assert milestone.current_status is MilestoneStatus.overdue
    milestone.status = MilestoneStatus.accepted
    assert milestone.current_status is MilestoneStatus.accepted


def test_the_database_refuses_disbursing_past_the_government_share(session: Session) -> None:
    project = make_world(session, government_funding=Decimal("50.00")).project
    add = update(Project).where(Project.id == project.id)
    session.execute(add.values(disbursed=Project.disbursed + Decimal("50.00")))
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(add.values(disbursed=Project.disbursed + Decimal("0.01")))


def test_the_database_refuses_a_government_share_above_the_budget(session: Session) -> None:
    project = make_world(session).project
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            update(Project)
            .where(Project.id == project.id)
            .values(government_funding=Project.budget + 1)
        )
