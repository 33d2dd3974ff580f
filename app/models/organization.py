from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime
from app.models.base import Timestamps, enum_column


class OrganizationKind(StrEnum):
    enterprise = "enterprise"
    university = "university"
    institute = "institute"
    bureau = "bureau"


class OrganizationStatus(StrEnum):
    unverified = "unverified"
    verified = "verified"
    rejected = "rejected"

    @property
    def label(self) -> str:
        """The state's Chinese name, for the messages people read."""
        return ORGANIZATION_STATUS_LABELS.get(self, self.value)


ORGANIZATION_STATUS_LABELS: dict[OrganizationStatus, str] = {
    OrganizationStatus.unverified: "待审核",
    OrganizationStatus.verified: "已审核",
    OrganizationStatus.rejected: "已驳回",
}


class Organization(Timestamps, Base):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganizationKind] = mapped_column(enum_column(OrganizationKind))
    name: Mapped[str] = mapped_column(String(200))
    # 统一社会信用代码; required for enterprises, unique where given.
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    region: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[OrganizationStatus] = mapped_column(
        enum_column(OrganizationStatus), default=OrganizationStatus.unverified, index=True
    )
    reject_reason: Mapped[str | None] = mapped_column(Text)
    # After a project failed for misconduct: the organisation may not bid until then.
    banned_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_verified(self) -> bool:
        return self.status is OrganizationStatus.verified
