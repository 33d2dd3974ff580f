"""The demo's days: counted back from today (China time), and a clock set for one step."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from app import db


def today() -> date:
    """Today in China."""
    return db.utcnow().astimezone(db.CHINA).date()


def at_day(days_ago: float, hour: int = 10) -> datetime:
    """That many days before today, at `hour` China time (a working hour)."""
    day = today() - timedelta(days=int(days_ago))
    return datetime.combine(day, time(hour), tzinfo=db.CHINA).astimezone(UTC)


@contextmanager
def clock(session: Session, moment: datetime) -> Iterator[None]:
    """Replay a step of the past: every service (and column default) reads `app.db.utcnow`.

    The demo walks projects that began more than a year ago through the same services a
    request uses, so their dates, audit events and notifications are the real ones; the clock
    is set for one step and always put back. The step's rows are flushed before it is put back
    (column defaults such as `created_at` are read at the INSERT). It changes nothing else:
    the whole load still runs in the caller's one transaction.
    """
    saved = db.utcnow
    db.utcnow = lambda: moment
    try:
        yield
        session.flush()
    finally:
        db.utcnow = saved
