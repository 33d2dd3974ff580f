from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, column_now


class AuditEvent(Base):
    """One state change or approval. Append-only: nothing updates or deletes these rows."""

    __tablename__ = "audit_event"
    # Each filter with the order (newest first): the page is read from the index in order, and
    # the count walks the index alone.
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id", "id"),
        Index("ix_audit_event_object_id", "object_id", "id"),
        Index("ix_audit_event_actor", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=column_now)
    # None when the system acted (a deadline passed).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
