"""What the matcher keeps in the database: stored tokens, bureau terms, a change sequence."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, column_now
from app.models.base import NEVER_REUSE_IDS


class MatchDocument(Base):
    """One matchable object's tokens, so a restart or a second process never segments again.

    `seq` comes from MatchState: every write takes the next number, and a process catches up
    by reading the rows whose `seq` is above the last one it applied. A deleted object keeps
    its row with `tokens = None` until the next rebuild, so other processes see the removal.
    """

    __tablename__ = "match_document"
    __table_args__ = (UniqueConstraint("kind", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # challenge | capability | result
    object_id: Mapped[int]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    tokens: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)


class MatchTerm(Base):
    """A domain term the bureau added, or a synonym (`canonical` set) mapped onto a term."""

    __tablename__ = "match_term"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(50), unique=True)
    canonical: Mapped[str | None] = mapped_column(String(50))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=column_now)


class MatchState(Base):
    """A single row: the change sequence. Taking a number locks the row until commit, so the
    numbers become visible in order and no process can skip a change."""

    __tablename__ = "match_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Bumped by a rebuild or a change of terms: every process then reloads from scratch.
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
