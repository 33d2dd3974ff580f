"""All table models, imported here so that `Base.metadata` knows every table."""

from app.models.audit import AuditEvent
from app.models.bid import LIVE_BID_STATUSES, Bid, BidStatus
from app.models.challenge import PUBLIC_CHALLENGE_STATUSES, Challenge, ChallengeStatus, Sector
from app.models.matching import DocumentKind, DocumentMeta, MatchDocument, MatchState, MatchTerm
from app.models.notification import Notification, NotificationKind
from app.models.offering import Capability, Maturity, Result, TransferMode
from app.models.organization import Organization, OrganizationKind, OrganizationStatus
from app.models.project import (
    ENDED_PROJECT_STATUSES,
    ChangeRequest,
    ChangeRequestStatus,
    Disbursement,
    FailureKind,
    MilestoneStatus,
    Objection,
    ObjectionStatus,
    Party,
    ProgressReport,
    Project,
    ProjectMilestone,
    ProjectSignature,
    ProjectStatus,
)
from app.models.review import (
    AssignmentStatus,
    BidReview,
    ExpertProfile,
    ReviewAssignment,
    ReviewCriteria,
)
from app.models.stats import Target
from app.models.user import Role, User

__all__ = [
    "ENDED_PROJECT_STATUSES",
    "LIVE_BID_STATUSES",
    "PUBLIC_CHALLENGE_STATUSES",
    "AssignmentStatus",
    "AuditEvent",
    "Bid",
    "BidReview",
    "BidStatus",
    "Capability",
    "Challenge",
    "ChallengeStatus",
    "ChangeRequest",
    "ChangeRequestStatus",
    "Disbursement",
    "DocumentKind",
    "DocumentMeta",
    "ExpertProfile",
    "FailureKind",
    "MatchDocument",
    "MatchState",
    "MatchTerm",
    "Maturity",
    "MilestoneStatus",
    "Notification",
    "NotificationKind",
    "Objection",
    "ObjectionStatus",
    "Organization",
    "OrganizationKind",
    "OrganizationStatus",
    "Party",
    "ProgressReport",
    "Project",
    "ProjectMilestone",
    "ProjectSignature",
    "ProjectStatus",
    "Result",
    "ReviewAssignment",
    "ReviewCriteria",
    "Role",
    "Sector",
    "Target",
    "TransferMode",
    "User",
]
