"""Notifications: written in the transaction of the change they report.

A change that fails rolls its notifications back with it, so nobody hears of what did not
happen. Recipients are named by the caller: users, the staff of organisations (their users
other than experts: an expert affiliated with an organisation sees only what they review), or
the bureau; the user who acted is never told of their own action.

Reading is the recipient's own business: `GET /notifications` lists a user's own, and marking
one read sets `read_at` once (a second read keeps the first time). Neither is audited: a
notification is a message to one person, not a state of the programme.
"""

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.orm import Session

from app import db
from app.errors import NotFound
from app.models import Notification, NotificationKind, Role, User


def recipients(
    session: Session,
    *,
    actor: User | None,
    users: Iterable[int] = (),
    organizations: Iterable[int] = (),
    bureau: bool = False,
) -> list[int]:
    """The ids of the users named, of the organisations' staff and of the bureau, sorted."""
    found = set(users)
    organization_ids = set(organizations)
    if organization_ids or bureau:
        clauses: list[ColumnElement[bool]] = []
        if organization_ids:
            clauses.append(User.organization_id.in_(organization_ids) & (User.role != Role.expert))
        if bureau:
            clauses.append(User.role == Role.bureau)
        stmt = select(User.id).where(User.is_active, or_(*clauses))
        found.update(session.scalars(stmt))
    if actor is not None:
        found.discard(actor.id)
    return sorted(found)


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
    made = [
        Notification(
            user_id=user_id,
            kind=kind,
            object_type=object_type,
            object_id=object_id,
            message=message,
            reminder_key=reminder_key,
        )
        for user_id in recipients(
            session, actor=actor, users=users, organizations=organizations, bureau=bureau
        )
    ]
    session.add_all(made)
    return made


def notifications_query(user: User, *, unread: bool = False) -> Select[Notification]:
    """The user's own notifications, newest first; only the unread ones with `unread`."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def unread_count(session: Session, user: User) -> int:
    """How many of the user's notifications are unread."""
    stmt = select(func.count()).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    return session.scalar(stmt) or 0


def mark_read(session: Session, *, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read; another user's is 404. Idempotent."""
    # One UPDATE that only sets an unset read_at: of two concurrent reads the first time wins.
    session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.user_id == user.id,
            Notification.read_at.is_(None),
        )
        .values(read_at=db.utcnow())
        .execution_options(synchronize_session=False)
    )
    notification = session.scalar(
        select(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user.id)
        .execution_options(populate_existing=True)
    )
    if notification is None:
        raise NotFound("通知不存在", code="notification_not_found")
    return notification


def mark_all_read(session: Session, *, user: User) -> int:
    """Mark every unread notification of the user read; how many were."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=db.utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
