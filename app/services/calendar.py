"""Working days (工作日) in China time: weekends and the configured holidays do not count."""

from collections.abc import Collection
from datetime import date, datetime, time, timedelta

from app import db


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def working_days_end(start: datetime, days: int, holidays: Collection[date]) -> datetime:
    """When a period of `days` working days that starts the day after `start` ends.

    The period ends at midnight (China time) after its last working day, so a notice
    published on a Friday with 5 working days runs Monday to Friday and ends as the next
    Saturday begins. With 0 days the period ends at `start`.
    """
    if days <= 0:
        return start
    day = start.astimezone(db.CHINA).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            counted += 1
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=db.CHINA)
