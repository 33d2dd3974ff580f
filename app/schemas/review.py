"""Experts, their assignments (reviewers), criteria, reviews and the ranking of bids."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.models import AssignmentStatus, BidReview, ExpertProfile, ReviewAssignment, Role
from app.schemas.bid import BidRead
from app.schemas.common import MAX_ID, LongText, Page, Reason, Tags, Title
from app.schemas.organization import DisplayName, Password, Username

CriterionName = Annotated[Title, Field(max_length=50, examples=["技术方案"])]
Score = Annotated[int, Field(ge=0, le=100)]


class ExpertCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    display_name: DisplayName
    # The expert's affiliation; null for an independent expert.
    organization_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    fields: Tags = Field(default=[], examples=[["半导体材料", "热解氮化硼"]])


class ExpertRead(BaseModel):
    """An expert: a user with `role: "expert"`; `organization_id` is the affiliation."""

    id: int
    username: str
    display_name: str
    role: Role
    organization_id: int | None = Field(description="所在单位；独立专家为 null")
    fields: list[str]
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, profile: ExpertProfile) -> Self:
        user = profile.user
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            organization_id=profile.affiliation_id,
            fields=list(profile.fields),
            is_active=user.is_active,
            created_at=user.created_at,
        )


class ExpertPage(Page[ExpertRead]):
    """专家列表：一页 `items`，`total` 为总数。"""


class ReviewerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expert_id: Annotated[int, Field(ge=1, le=MAX_ID)]


class ReviewerRead(BaseModel):
    """An expert assigned to a challenge; `recused` ones may no longer score or read its bids."""

    challenge_id: int
    expert_id: int
    display_name: str
    organization_id: int | None = Field(description="专家所在单位；独立专家为 null")
    fields: list[str]
    status: AssignmentStatus
    recusal_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, assignment: ReviewAssignment) -> Self:
        profile = assignment.profile
        return cls(
            challenge_id=assignment.challenge_id,
            expert_id=assignment.expert_id,
            display_name=profile.user.display_name,
            organization_id=profile.affiliation_id,
            fields=list(profile.fields),
            status=assignment.status,
            recusal_reason=assignment.recusal_reason,
            created_at=assignment.created_at,
            updated_at=assignment.updated_at,
        )


class ReviewerPage(Page[ReviewerRead]):
    """榜单的评审专家：一页 `items`，`total` 为总数。"""


class Criterion(BaseModel):
    """One weighted criterion the bids are scored on."""

    model_config = ConfigDict(extra="forbid")

    name: CriterionName
    weight: int = Field(gt=0, le=1000, examples=[40])


def _unique_criteria(items: list[Criterion]) -> list[Criterion]:
    names = [item.name for item in items]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"评审指标重复：{'、'.join(duplicates)}")
    return items


CriteriaList = Annotated[
    list[Criterion], Field(min_length=1, max_length=20), AfterValidator(_unique_criteria)
]


class ReviewCreate(BaseModel):
    """Scores for every criterion (and a comment), or `{"conflict": true, "reason"}`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "scores": {
                        "技术方案": 85,
                        "团队与研究基础": 80,
                        "预算合理性": 70,
                        "进度可行性": 75,
                    },
                    "comment": "技术路线清晰，中试计划偏紧。",
                },
                {"conflict": True, "reason": "本人曾在申报单位任职"},
            ]
        },
    )

    scores: dict[CriterionName, Score] | None = Field(default=None, max_length=20)
    comment: LongText = ""
    conflict: bool = False
    reason: Reason | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if self.conflict:
            if self.reason is None:
                raise ValueError("声明回避须填写理由（reason）")
            if self.scores is not None:
                raise ValueError("声明回避时不能同时评分")
        elif self.scores is None:
            raise ValueError("须为每项评审指标评分（scores），或声明回避（conflict）")
        return self


class ReviewRead(BaseModel):
    id: int
    bid_id: int
    challenge_id: int
    expert_id: int
    scores: dict[str, int]
    weighted_score: float = Field(description="本评审的加权分：Σ(分数×权重)/Σ权重")
    comment: str
    # False when the expert was recused from the challenge later: kept, but not counted.
    counted: bool
    created_at: datetime

    @classmethod
    def of(cls, review: BidReview, *, counted: bool) -> Self:
        return cls(
            id=review.id,
            bid_id=review.bid_id,
            challenge_id=review.challenge_id,
            expert_id=review.expert_id,
            scores=dict(review.scores),
            weighted_score=float(review.weighted_score),
            comment=review.comment,
            counted=counted,
            created_at=review.created_at,
        )


class BidReviews(BaseModel):
    """A bid's reviews the caller may read, and their weighted mean (null when none counts)."""

    items: list[ReviewRead]
    weighted_score: float | None


class RankedBid(BidRead):
    weighted_score: float | None = Field(description="各专家加权分的平均；无人评审为 null")
    reviews: int = Field(description="计入的评审数")


class Ranking(BaseModel):
    """A challenge's bids, best weighted score first; unreviewed last; ties by bid id."""

    items: list[RankedBid]


def as_float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None
