"""The awarded project and what it is tracked by: notice, agreement, milestones, funds.

Time-based states are derived when read, never written by a read: a project in `publicity`
whose notice period has ended with no objection pending reads as `signing`
(`Project.current_status`); a milestone past its date and not accepted reads as `overdue`
(`ProjectMilestone.current_status`). The clock is app.db.utcnow, looked up at each call.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import db
from app.db import Base, UTCDateTime, column_now
from app.models.base import Timestamps, enum_column
from app.models.challenge import Sector
from app.models.user import User


class ProjectStatus(StrEnum):
    publicity = "publicity"
    signing = "signing"
    in_progress = "in_progress"
    acceptance_requested = "acceptance_requested"
    rectification = "rectification"
    completed = "completed"
    failed = "failed"
    terminated = "terminated"
    revoked = "revoked"

    @property
    def label(self) -> str:
        """The state's Chinese name, for the messages people read."""
        return PROJECT_STATUS_LABELS.get(self, self.value)


PROJECT_STATUS_LABELS: dict[ProjectStatus, str] = {
    ProjectStatus.publicity: "公示中",
    ProjectStatus.signing: "任务书签订中",
    ProjectStatus.in_progress: "实施中",
    ProjectStatus.acceptance_requested: "待验收",
    ProjectStatus.rectification: "验收整改中",
    ProjectStatus.completed: "已验收",
    ProjectStatus.failed: "验收未通过",
    ProjectStatus.terminated: "已终止",
    ProjectStatus.revoked: "已撤销授榜",
}

# A project that has ended: nothing more happens to it.
ENDED_PROJECT_STATUSES = frozenset(
    {
        ProjectStatus.completed,
        ProjectStatus.failed,
        ProjectStatus.terminated,
        ProjectStatus.revoked,
    }
)


class FailureKind(StrEnum):
    tolerated = "tolerated"  # 容错: honest, documented effort; no penalty
    misconduct = "misconduct"  # false data, misuse of funds: the organisation may not bid

    @property
    def label(self) -> str:
        return {"tolerated": "容错免责", "misconduct": "失信违规"}[self.value]


class Party(StrEnum):
    """The three signatories of the task agreement (任务书)."""

    enterprise = "enterprise"  # the challenge's owner
    performer = "performer"  # the awarded university or institute
    bureau = "bureau"

    @property
    def label(self) -> str:
        return {"enterprise": "发榜单位", "performer": "揭榜单位", "bureau": "科技局"}[self.value]


_NOT_REVOKED = "status <> 'revoked'"


class Project(Timestamps, Base):
    """The awarded work, tracked to acceptance. One live (not revoked) project per challenge."""

    __tablename__ = "project"
    __table_args__ = (
        # A revoked award leaves its project behind as a record; the next award makes another.
        Index(
            "uq_project_live_per_challenge",
            "challenge_id",
            unique=True,
            sqlite_where=text(_NOT_REVOKED),
            postgresql_where=text(_NOT_REVOKED),
        ),
        # The database, not only Python, keeps the funds within the government's share: two
        # concurrent disbursements both add to `disbursed`, and the second past it fails.
        CheckConstraint(
            "government_funding >= 0 AND government_funding <= budget", name="government_share"
        ),
        CheckConstraint(
            "disbursed >= 0 AND disbursed <= government_funding", name="within_government_share"
        ),
        CheckConstraint("open_objections >= 0", name="open_objections_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bid.id"), index=True)
    # The two parties, copied from the challenge and the bid for cheap permission checks.
    owner_organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    performer_organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id"), index=True
    )
    title: Mapped[str] = mapped_column(String(200), default="")  # the challenge's, at the award
    # The challenge's sector and county, copied at the award (fixed once it was published):
    # the statistics group and filter projects by them without joining the challenges.
    sector: Mapped[Sector] = mapped_column(enum_column(Sector))
    region: Mapped[str] = mapped_column(String(6))
    status: Mapped[ProjectStatus] = mapped_column(
        enum_column(ProjectStatus), default=ProjectStatus.publicity
    )
    status_reason: Mapped[str | None] = mapped_column(Text)

    # Funds (万元): the budget is the bid's; the bureau sets the government's share at the
    # award; the enterprise funds the rest. `disbursed` is the sum of the disbursements.
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    government_funding: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    disbursed: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))

    # Public notice (公示): ends at this instant unless an objection is still open.
    publicity_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    open_objections: Mapped[int] = mapped_column(default=0)

    # The task agreement (任务书): indicators fixed at the award, one chain per indicator:
    # [{"name", "target", "unit", "promised", "measured", "passed", "waiver"}]
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    ip_ownership: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # all three signed

    # Mid-term check (中期检查): the last outcome, and the date a `rectify` must be fixed by.
    midterm_outcome: Mapped[str | None] = mapped_column(String(16))
    midterm_comment: Mapped[str | None] = mapped_column(Text)
    midterm_rectify_by: Mapped[date | None]
    midterm_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Acceptance (验收): requests so far (a `rectify` verdict allows exactly one more), the
    # date a rectification must be done by, the verdict's comment and a failure's kind.
    acceptance_requests: Mapped[int] = mapped_column(default=0)
    acceptance_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rectify_by: Mapped[date | None]
    acceptance_comment: Mapped[str | None] = mapped_column(Text)
    failure_kind: Mapped[FailureKind | None] = mapped_column(enum_column(FailureKind))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Read-only views for the project's answer, loaded explicitly (selectinload) or never:
    # the plan in force (a replaced plan's rows stay, inactive) and the signatures so far.
    milestones: Mapped[list["ProjectMilestone"]] = relationship(
        primaryjoin="and_(Project.id == ProjectMilestone.project_id, ProjectMilestone.active)",
        order_by="ProjectMilestone.position",
        viewonly=True,
        lazy="raise",
    )
    signatures: Mapped[list["ProjectSignature"]] = relationship(
        order_by="ProjectSignature.id", viewonly=True, lazy="raise"
    )

    @property
    def funding(self) -> dict[str, Decimal]:
        """The agreement's split of the budget, and what the bureau has paid out of its share."""
        return {
            "budget": self.budget,
            "enterprise": self.enterprise_funding,
            "government": self.government_funding,
            "disbursed": self.disbursed,
        }

    @property
    def publicity_over(self) -> bool:
        """The notice period has ended by the clock and no objection holds it open."""
        return self.open_objections == 0 and self.publicity_ends_at <= db.utcnow()

    @property
    def current_status(self) -> ProjectStatus:
        """The status as of now: a notice period that has ended reads as `signing`."""
        if self.status is ProjectStatus.publicity and self.publicity_over:
            return ProjectStatus.signing
        return self.status

    @property
    def enterprise_funding(self) -> Decimal:
        return self.budget - self.government_funding

    @classmethod
    def current_status_is(cls, status: ProjectStatus) -> ColumnElement[bool]:
        """SQL for `current_status == status`."""
        now = db.utcnow()
        in_publicity = cls.status == ProjectStatus.publicity
        over = and_(cls.open_objections == 0, cls.publicity_ends_at <= now)
        if status is ProjectStatus.publicity:
            return and_(in_publicity, ~over)
        if status is ProjectStatus.signing:
            return or_(cls.status == status, and_(in_publicity, over))
        return cls.status == status


class ProjectSignature(Base):
    """One party's signature on the task agreement. Each party signs once (unique)."""

    __tablename__ = "project_signature"
    __table_args__ = (UniqueConstraint("project_id", "party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    party: Mapped[Party] = mapped_column(enum_column(Party))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=column_now)


class ObjectionStatus(StrEnum):
    pending = "pending"
    upheld = "upheld"
    dismissed = "dismissed"

    @property
    def label(self) -> str:
        return {"pending": "待处理", "upheld": "异议成立", "dismissed": "异议不成立"}[self.value]


class Objection(Timestamps, Base):
    """An objection to an award during its public notice, filed under the filer's own name."""

    __tablename__ = "objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ObjectionStatus] = mapped_column(
        enum_column(ObjectionStatus), default=ObjectionStatus.pending
    )
    resolution: Mapped[str | None] = mapped_column(Text)  # the bureau's reason
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    filed_by: Mapped[User] = relationship(foreign_keys=[filed_by_id], lazy="raise")

    @property
    def filed_by_name(self) -> str:
        """The filer's display name: an objection is filed under one's own name."""
        return self.filed_by.display_name


class MilestoneStatus(StrEnum):
    planned = "planned"
    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"
    overdue = "overdue"  # derived when read: never stored

    @property
    def label(self) -> str:
        return MILESTONE_STATUS_LABELS[self]


MILESTONE_STATUS_LABELS: dict[MilestoneStatus, str] = {
    MilestoneStatus.planned: "计划中",
    MilestoneStatus.submitted: "已提交成果",
    MilestoneStatus.accepted: "已确认",
    MilestoneStatus.rejected: "已退回",
    MilestoneStatus.overdue: "已逾期",
}


class ProjectMilestone(Timestamps, Base):
    """One step of the agreed plan, with its deliverable and the enterprise's decision."""

    __tablename__ = "project_milestone"
    __table_args__ = (Index("ix_project_milestone_due", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date]
    status: Mapped[MilestoneStatus] = mapped_column(
        enum_column(MilestoneStatus), default=MilestoneStatus.planned
    )
    deliverable: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)  # why the deliverable was rejected
    # False once a change request replaced the plan: kept for the record, no longer due.
    active: Mapped[bool] = mapped_column(default=True)

    # Many-to-one: found in the session's identity map when the project is loaded (it always
    # is where a milestone is shown), else one query.
    project: Mapped[Project] = relationship(viewonly=True, lazy="select")

    @property
    def current_status(self) -> MilestoneStatus:
        """`overdue` once its date has passed (China time) unaccepted, while the project lives.

        Once the project has ended nothing is due any more: the stored status shows.
        """
        if self.project.status in ENDED_PROJECT_STATUSES:
            return self.status
        if self.status is not MilestoneStatus.accepted and self.due_date < local_today():
            return MilestoneStatus.overdue
        return self.status


class ChangeRequestStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"

    @property
    def label(self) -> str:
        return {"pending": "待确认", "accepted": "已同意", "declined": "已拒绝"}[self.value]


class ChangeRequest(Timestamps, Base):
    """A proposal by one party to replace the milestone plan; the other party decides."""

    __tablename__ = "change_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    proposer: Mapped[Party] = mapped_column(enum_column(Party))
    # [{"title": "...", "due_date": "2027-06-30"}]
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[ChangeRequestStatus] = mapped_column(
        enum_column(ChangeRequestStatus), default=ChangeRequestStatus.pending
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str | None] = mapped_column(Text)


class ProgressReport(Base):
    """A progress report filed by the university or institute."""

    __tablename__ = "progress_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=column_now)
    period: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    spent: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 万元, spent so far


class Disbursement(Base):
    """A tranche of government funding, recorded by the bureau. Append-only."""

    __tablename__ = "disbursement"
    __table_args__ = (CheckConstraint("amount > 0", name="positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("project_milestone.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=column_now)


def local_today() -> date:
    """Today in China (UTC+8, no daylight saving), by the clock."""
    return db.utcnow().astimezone(db.CHINA).date()
