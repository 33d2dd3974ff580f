"""What the matcher keeps in the database: stored tokens, bureau terms, change numbers.

The rules that fill these tables (which fields are matched, when rows are written and
numbered, how processes follow them) live in one place: app/services/match_sync/.
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Dialect, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.db import Base, UTCDateTime, column_now
from app.models.base import NEVER_REUSE_IDS, enum_column
from app.models.challenge import ChallengeStatus, Sector


class DocumentKind(StrEnum):
    """What a match document stands for: one index per kind in every process."""

    challenge = "challenge"
    capability = "capability"
    result = "result"


@dataclass(frozen=True, slots=True)
class DocumentMeta:
    """What the match filters read at query time, without asking the database.

    Challenges fill every field; capabilities and results only `organization_id`.
    """

    organization_id: int
    status: ChallengeStatus | None = None
    sector: Sector | None = None
    region: str | None = None
    # Bidding ends at the deadline even before a sweep marks the challenge closed (a POSIX
    # timestamp: compared with the clock on every search, so kept as a plain float).
    deadline: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON stored in `match_document.meta` (no nulls)."""
        return {name: value for name, value in asdict(self).items() if value is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DocumentMeta":
        """The stored JSON read back; keys it does not know (older rows) are ignored."""
        status, sector = data.get("status"), data.get("sector")
        deadline = data.get("deadline")
        return cls(
            organization_id=int(data["organization_id"]),
            status=ChallengeStatus(status) if status else None,
            sector=Sector(sector) if sector else None,
            region=data.get("region"),
            deadline=float(deadline) if deadline is not None else None,
        )


class DocumentMetaJSON(TypeDecorator[DocumentMeta]):
    """A DocumentMeta stored as a JSON object."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: DocumentMeta | None, dialect: Dialect) -> Any:
        return None if value is None else value.to_json()

    def process_result_value(self, value: Any, dialect: Dialect) -> DocumentMeta | None:
        return None if value is None else DocumentMeta.from_json(value)


class MatchDocument(Base):
    """One matchable object's tokens, so a restart or a second process never segments again.

    `seq` is the change number of the transaction that last wrote the row: on PostgreSQL its
    transaction id, on SQLite the next value of `MatchState.seq`. A process catches up by
    reading the rows whose number had not committed when it last read. A deleted object keeps
    its row with `tokens = None` (a tombstone), so other processes see the removal.
    `fingerprint` identifies the text the tokens were segmented from: a rebuild writes its
    tokens only where the row still has the fingerprint of the text it segmented.
    """

    __tablename__ = "match_document"
    __table_args__ = (UniqueConstraint("kind", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, length=16))
    object_id: Mapped[int]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    tokens: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    meta: Mapped[DocumentMeta] = mapped_column(DocumentMetaJSON())
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    fingerprint: Mapped[str | None] = mapped_column(String(32))


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
    """A single row: the term-list generation and, on SQLite only, the change counter (taking a
    number locks the row until commit, so numbers commit in order; PostgreSQL numbers changes
    with transaction ids instead and leaves `seq` alone)."""

    __tablename__ = "match_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # The version of the bureau's term list (match_term): bumped by every term added or
    # deleted, in the same transaction. A process rebuilds its tokenizer when it changes; the
    # documents the change re-segmented reach it through `seq` like any other write.
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
