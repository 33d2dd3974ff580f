from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.models.base import Timestamps, enum_column
from app.models.organization import Organization, OrganizationKind


class Role(StrEnum):
    enterprise = "enterprise"
    university = "university"
    institute = "institute"
    expert = "expert"
    bureau = "bureau"

    @classmethod
    def for_kind(cls, kind: OrganizationKind) -> "Role":
        return cls(kind.value)


class User(Timestamps, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    # Stored lower-cased, so sign-in is case-insensitive and duplicates cannot differ by case.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    is_active: Mapped[bool] = mapped_column(default=True)

    organization: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)
