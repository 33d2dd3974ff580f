"""All table models, imported here so that `Base.metadata` knows every table."""

from app.models.audit import AuditEvent
from app.models.bid import LIVE_BID_STATUSES, Bid, BidStatus
from app.models.challenge import PUBLIC_CHALLENGE_STATUSES, Challenge, ChallengeStatus, Sector
from app.models.matching import MatchDocument, MatchState, MatchTerm
from app.models.offering import Capability, Maturity, Result, TransferMode
from app.models.organization import Organization, OrganizationKind, OrganizationStatus
from app.models.project import Project, ProjectStatus
from app.models.review import (
    AssignmentStatus,
    BidReview,
    ExpertProfile,
    ReviewAssignment,
    ReviewCriteria,
)
from app.models.user import Role, User

__all__ = [
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
    "ExpertProfile",
    "MatchDocument",
    "MatchState",
    "MatchTerm",
    "Maturity",
    "Organization",
    "OrganizationKind",
    "OrganizationStatus",
    "Project",
    "ProjectStatus",
    "Result",
    "ReviewAssignment",
    "ReviewCriteria",
    "Role",
    "Sector",
    "TransferMode",
    "User",
]
