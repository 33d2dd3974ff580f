"""What universities and institutes offer: capabilities (科研能力) and results (科技成果)."""

from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.base import NEVER_REUSE_IDS, Timestamps, enum_column, search_grams_index


class Maturity(StrEnum):
    lab = "lab"
    pilot = "pilot"
    industrialised = "industrialised"


class TransferMode(StrEnum):
    transfer = "transfer"
    licence = "licence"
    equity = "equity"
    joint_development = "joint_development"


class OfferingColumns:
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class Capability(OfferingColumns, Timestamps, Base):
    __tablename__ = "capability"
    __table_args__ = (search_grams_index("capability"), NEVER_REUSE_IDS)


class Result(OfferingColumns, Timestamps, Base):
    __tablename__ = "result"
    __table_args__ = (search_grams_index("result"), NEVER_REUSE_IDS)

    maturity: Mapped[Maturity] = mapped_column(enum_column(Maturity))
    transfer_mode: Mapped[TransferMode] = mapped_column(enum_column(TransferMode))
    patents: Mapped[list[str]] = mapped_column(JSON, default=list)
