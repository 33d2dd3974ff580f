"""`python -m app.jobs remind`: each reminder once per user, object and kind.

Milestones due within 7 days and overdue ones, and agreements awaiting a party's signature,
are written with a reminder key; the unique index (user_id, reminder_key) and INSERT ... ON
CONFLICT DO NOTHING make a second run, or a second process at the same moment, write nothing
more. The in-transaction tests move the clock; the processes run on the real clock, so their
rows are dated from it.
"""

import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db, jobs
from app.db import get_session_factory
from app.models import (
    MilestoneStatus,
    Notification,
    NotificationKind,
    Party,
    ProjectSignature,
    ProjectStatus,
    Role,
    User,
)
from app.models.project import local_today
from app.services.reminders import write_reminders
from tests.factories import make_user
from tests.project_factories import World, make_world

ROOT = Path(__file__).resolve().parents[1]
K = NotificationKind
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)  # Monday 1 March 2027, 10:00 in China
TODAY = date(2027, 3, 1)
TIMEOUT = 60


def told(session: Session, kind: NotificationKind, object_id: int) -> list[int]:
    """Who got this reminder, with repeats (there must be none)."""
    stmt = select(Notification.user_id).where(
        Notification.kind == kind, Notification.object_id == object_id
    )
    return sorted(session.scalars(stmt))


def bureau_users(session: Session) -> list[int]:
    return sorted(session.scalars(select(User.id).where(User.role == Role.bureau)))


def staff(*users: User) -> list[int]:
    return sorted(user.id for user in users)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "utcnow", lambda: NOW)


def running(session: Session, *offsets: int) -> World:
    dates = tuple(TODAY + timedelta(days=n) for n in offsets)
    return make_world(session, status=ProjectStatus.in_progress, milestone_dates=dates)


def test_milestones_due_within_7_days_and_overdue_are_reminded_once(
    session: Session, clock: None
) -> None:
    world = running(session, 6, -1, 7, 0)
    due, late, beyond, today = world.milestones
    colleague = make_user(session, organization=world.performer.organization)
    make_user(session, organization=world.owner.organization, role=Role.expert)  # affiliated
    accepted = running(session, 2)
    accepted.milestones[0].status = MilestoneStatus.accepted
    session.flush()

    written = write_reminders(session)

    parties = staff(world.owner, world.performer, colleague)
    assert told(session, K.milestone_due, due.id) == parties
    assert told(session, K.milestone_due, today.id) == parties
    assert told(session, K.milestone_due, beyond.id) == []  # ends after the 7 days
    assert told(session, K.milestone_overdue, late.id) == sorted(parties + bureau_users(session))
    assert told(session, K.milestone_due, accepted.milestones[0].id) == []
    assert written == Counter({K.milestone_due: 6, K.milestone_overdue: 3 + 2})
    (message,) = set(
        session.scalars(select(Notification.message).where(Notification.object_id == late.id))
    )
    assert message == (
        f"项目“{world.project.title}”的里程碑“{late.title}”已逾期（应于 2027-02-28 完成）"
    )

    assert write_reminders(session) == Counter()  # a second run writes nothing
    assert session.scalar(select(func.count()).select_from(Notification)) == 11


def test_a_milestone_first_due_then_overdue_gets_one_reminder_of_each(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "utcnow", lambda: NOW)
    world = running(session, 3)
    (milestone,) = world.milestones
    write_reminders(session)
    later = NOW + timedelta(days=4)
    monkeypatch.setattr(db, "utcnow", lambda: later)
    write_reminders(session)
    write_reminders(session)
    parties = staff(world.owner, world.performer)
    assert told(session, K.milestone_due, milestone.id) == parties
    assert told(session, K.milestone_overdue, milestone.id) == sorted(
        parties + bureau_users(session)
    )


def test_projects_not_running_get_no_milestone_reminders(session: Session, clock: None) -> None:
    for status in (ProjectStatus.completed, ProjectStatus.terminated, ProjectStatus.rectification):
        world = make_world(session, status=status, milestone_dates=(TODAY - timedelta(days=1),))
        world.project.publicity_ends_at = NOW + timedelta(days=3)
    session.flush()
    assert write_reminders(session) == Counter()


def test_a_signature_is_awaited_from_each_party_that_has_not_signed(
    session: Session, clock: None
) -> None:
    world = make_world(session, status=ProjectStatus.publicity)
    world.project.publicity_ends_at = NOW - timedelta(hours=1)  # ended: reads as signing
    session.add(
        ProjectSignature(
            project_id=world.project.id, party=Party.enterprise, user_id=world.owner.id
        )
    )
    held = make_world(session, status=ProjectStatus.publicity)
    held.project.publicity_ends_at = NOW - timedelta(hours=1)
    held.project.open_objections = 1  # an objection holds the notice open
    still_on = make_world(session, status=ProjectStatus.publicity)
    still_on.project.publicity_ends_at = NOW + timedelta(hours=1)
    session.flush()

    written = write_reminders(session)

    bureau = bureau_users(session)
    assert told(session, K.signature_awaited, world.project.id) == sorted(
        [world.performer.id, *bureau]
    )
    assert told(session, K.signature_awaited, held.project.id) == []
    assert told(session, K.signature_awaited, still_on.project.id) == []
    assert written == Counter({K.signature_awaited: 1 + len(bureau)})
    messages = set(
        session.scalars(
            select(Notification.message).where(Notification.kind == K.signature_awaited)
        )
    )
    assert messages == {f"项目“{world.project.title}”公示期已满，任务书待揭榜单位、科技局签署"}
    assert write_reminders(session) == Counter()


def test_the_command_logs_how_many_it_wrote(
    live_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    with get_session_factory().begin() as session:
        today = local_today()
        make_world(session, milestone_dates=(today + timedelta(days=2),))
    with caplog.at_level(logging.INFO, logger="app.jobs"):
        jobs.main(["remind"])
        jobs.main(["remind"])
    assert [r.getMessage() for r in caplog.records if r.name == "app.jobs"] == [
        "wrote 2 reminder(s): milestone_due=2, milestone_overdue=0, signature_awaited=0",
        "wrote 0 reminder(s): milestone_due=0, milestone_overdue=0, signature_awaited=0",
    ]


def test_the_command_has_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.jobs", "remind", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    assert "once per user, object and kind" in done.stdout


# Each job process imports, says it is ready, and waits for one signal: the two then write at
# the same moment instead of one after the other's imports.
GATED_JOB = """
import os, sys, time
from pathlib import Path
from app.jobs import main
(Path(sys.argv[1]) / str(os.getpid())).touch()
deadline = time.monotonic() + 60
while not Path(sys.argv[2]).exists() and time.monotonic() < deadline:
    time.sleep(0.001)
main(["remind"])
"""
WROTE = re.compile(r"wrote (\d+) reminder")


def test_two_processes_at_once_write_each_reminder_once(live_database: str, tmp_path: Path) -> None:
    with get_session_factory().begin() as session:
        today = local_today()
        worlds = [
            make_world(
                session,
                milestone_dates=(today + timedelta(days=1), today - timedelta(days=1)),
            )
            for _ in range(3)
        ]
        signing = make_world(session, status=ProjectStatus.publicity)
        signing.project.publicity_ends_at = db.utcnow() - timedelta(hours=1)
        bureau = len(bureau_users(session))
    # Each running project: 2 party users for the due milestone, 2 + the bureau for the overdue
    # one; the agreement awaits all three parties.
    expected = len(worlds) * (2 + 2 + bureau) + (2 + bureau)

    ready, go = tmp_path / "ready", tmp_path / "go"
    ready.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", GATED_JOB, str(ready), str(go)],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": live_database, "LOG_LEVEL": "INFO"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    errors = []
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(list(ready.iterdir())) < 2 and time.monotonic() < deadline:
            assert all(proc.poll() is None for proc in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        assert len(list(ready.iterdir())) == 2, "the jobs did not start"
        go.touch()
        for proc in procs:
            _, err = proc.communicate(timeout=TIMEOUT)
            assert proc.returncode == 0, err
            errors.append(err)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    with get_session_factory()() as session:
        keys = session.execute(select(Notification.user_id, Notification.reminder_key)).all()
    assert len(keys) == expected
    assert len(set(keys)) == expected  # each (user, reminder) once
    written = [int(m.group(1)) for err in errors for m in WROTE.finditer(err)]
    assert len(written) == 2
    assert sum(written) == expected  # the two logs add up to what is stored
