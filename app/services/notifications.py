"""Notifications: written in the transaction of the change they report.

A change that fails rolls its notifications back with it, so nobody hears of what did not
happen. Recipients are named by the caller: users, the staff of organisations (their users
other than experts: an expert affiliated with an organisation sees only what they review), or
the bureau; the user who acted is never told of their own action.
"""

from collections.abc import Iterable

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from app.models import Notification, NotificationKind, Role, User


def notify(
    session: Session,
    *,
    kind: NotificationKind,
    object_type: str,
    object_id: int,
    message: str,
    actor: User | None,
    users: Iterable[int] = (),
    organizations: Iterable[int] = (),
    bureau: bool = False,
    reminder_key: str | None = None,
) -> list[Notification]:
    """Add one notification per recipient to the current transaction."""
    recipients = set(users)
    organization_ids = set(organizations)
    if organization_ids or bureau:
        clauses: list[ColumnElement[bool]] = []
        if organization_ids:
            clauses.append(User.organization_id.in_(organization_ids) & (User.role != Role.expert))
        if bureau:
            clauses.append(User.role == Role.bureau)
        stmt = select(User.id).where(User.is_active, or_(*clauses))
        recipients.update(session.scalars(stmt))
    if actor is not None:
        recipients.discard(actor.id)
    made = [
        Notification(
            user_id=user_id,
            kind=kind,
            object_type=object_type,
            object_id=object_id,
            message=message,
            reminder_key=reminder_key,
        )
        for user_id in sorted(recipients)
    ]
    session.add_all(made)
    return made
