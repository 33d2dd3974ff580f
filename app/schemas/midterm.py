"""The mid-term check (中期检查) recorded by the bureau."""

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Reason


class MidtermOutcome(StrEnum):
    passed = "pass"
    rectify = "rectify"
    terminate = "terminate"

    @property
    def label(self) -> str:
        return {"pass": "通过", "rectify": "限期整改", "terminate": "终止"}[self.value]


class MidtermCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: MidtermOutcome
    comment: Reason = Field(description="检查意见；终止时即终止理由")
    rectify_by: date | None = Field(
        default=None, description="整改期限：仅 `rectify` 需要，且须晚于今天（中国时间）"
    )
