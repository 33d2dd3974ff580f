"""Jobs to run from a scheduler (cron, a systemd timer, a Kubernetes CronJob).

close-expired  store the close of every published challenge whose bidding deadline has
               passed, audited as the system. Reads already show such a challenge as closed;
               this brings the stored rows in line. Idempotent, and safe to run in several
               processes at once: run it as often as you like (e.g. every minute).
remind         write the reminders not written yet: milestones due within 7 days
               (milestone_due), milestones overdue (milestone_overdue), agreements whose
               notice period has ended awaiting a party's signature (signature_awaited). Each
               is written once per user, object and kind (a unique key): safe to run twice and
               in several processes at once (e.g. hourly).
"""

import argparse
import logging

from app.config import get_settings
from app.db import get_session_factory
from app.models import NotificationKind
from app.services import challenges, reminders

logger = logging.getLogger("app.jobs")


def close_expired() -> list[int]:
    """Close the challenges past their deadline, in one transaction; the ids closed."""
    with get_session_factory().begin() as session:
        return challenges.close_expired(session)


def remind() -> dict[NotificationKind, int]:
    """Write the reminders due, in one transaction; how many of each kind were written."""
    with get_session_factory().begin() as session:
        return dict(reminders.write_reminders(session))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m app.jobs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    jobs.add_parser(
        "close-expired",
        help="close published challenges whose deadline has passed",
        description="Close published challenges whose bidding deadline has passed.",
    )
    jobs.add_parser(
        "remind",
        help="write reminders: milestones due or overdue, signatures awaited",
        description="Write the reminders not written yet (each once per user, object and kind).",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(message)s")
    if args.job == "close-expired":
        closed = close_expired()
        logger.info(
            "closed %d challenge(s) past their deadline%s",
            len(closed),
            f": {', '.join(map(str, closed))}" if closed else "",
        )

    elif args.job == "remind":
        written = remind()
        counts = ", ".join(f"{kind.value}={written.get(kind, 0)}" for kind in REMINDER_KINDS)
        logger.info("wrote %d reminder(s): %s", sum(written.values()), counts)


REMINDER_KINDS = (
    NotificationKind.milestone_due,
    NotificationKind.milestone_overdue,
    NotificationKind.signature_awaited,
)


if __name__ == "__main__":
    main()
