"""Acceptance (验收): the bureau's record of each indicator and its verdict; termination."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.models import FailureKind
from app.schemas.common import LongText, Reason, Title

# The indicator record is one entry per indicator of the project: at most as many as a
# challenge may have (50).
MAX_INDICATORS = 50


class Verdict(StrEnum):
    pass_ = "pass"  # every indicator passed or waived with a reason → completed
    rectify = "rectify"  # once only: three months to fix it, then a second request
    fail = "fail"  # with a failure_kind: tolerated (容错) or misconduct (失信)


class MeasuredIndicator(BaseModel):
    """One indicator as measured at acceptance."""

    model_config = ConfigDict(extra="forbid")

    name: Title = Field(examples=["纯度"])
    measured: Title = Field(examples=["99.996"], description="实测值")
    passed: bool = Field(description="是否达标")


class Waiver(BaseModel):
    """An indicator that counts as met although it was not: the written reason why."""

    model_config = ConfigDict(extra="forbid")

    name: Title = Field(examples=["纯度"])
    reason: Reason = Field(examples=["国家标准调整，经专家组论证该指标不再适用"])


class AcceptanceVerdict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "indicators": [{"name": "纯度", "measured": "99.996", "passed": True}],
                    "waivers": [],
                    "verdict": "pass",
                    "comment": "各项指标均已达到任务书要求",
                }
            ]
        },
    )

    indicators: Annotated[list[MeasuredIndicator], Field(max_length=MAX_INDICATORS)]
    waivers: Annotated[list[Waiver], Field(max_length=MAX_INDICATORS)] = []
    verdict: Verdict
    failure_kind: FailureKind | None = Field(
        default=None, description="仅 `fail` 时必填：`tolerated`（容错）或 `misconduct`（失信违规）"
    )
    comment: LongText = ""


class TerminateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(examples=["企业已自行解决该技术难题，双方协商一致终止"])
