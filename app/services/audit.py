"""The audit trail: one append-only row for every state change and approval."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, User


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Add one audit event to the current transaction."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        reason=reason,
    )
    session.add(event)
    return event


def record_transition(
    session: Session,
    *,
    actor: User | None,
    object_type: str,
    object_id: int,
    action: str,
    before: str | None,
    after: str,
    reason: str | None = None,
) -> AuditEvent:
    """Audit a status change."""
    return record(
        session,
        actor=actor,
        action=f"{object_type}.{action}",
        object_type=object_type,
        object_id=object_id,
        before={"status": before} if before is not None else None,
        after={"status": after},
        reason=reason,
    )


def events_query(
    *, object_type: str | None, object_id: int | None, actor_id: int | None
) -> Select[AuditEvent]:
    """The audit events matching the filters, newest first."""
    stmt = select(AuditEvent)
    if object_type is not None:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    return stmt.order_by(AuditEvent.id.desc())


def events_for(session: Session, object_type: str, object_id: int) -> Sequence[AuditEvent]:
    return session.scalars(
        events_query(object_type=object_type, object_id=object_id, actor_id=None)
    ).all()
