"""Progress reports and disbursements of government funding."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import MAX_ID, Description, LongText, Money, Page, ReadModel, ShortText

Period = Annotated[ShortText, StringConstraints(min_length=1, max_length=32)]


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period = Field(examples=["2027年第一季度"])
    summary: Description = Field(examples=["完成中试线搭建，样品纯度达到 99.99%"])
    spent: Money = Field(description="截至本期已使用经费（万元）")


class ReportRead(ReadModel):
    id: int
    project_id: int
    created_by_id: int
    created_at: datetime
    period: str
    summary: str
    spent: Money


class ReportPage(Page[ReportRead]):
    """项目进展报告，新的在前。"""


class DisbursementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[Money, Field(gt=Decimal(0), examples=["30.00"])]
    milestone_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        default=None, description="本笔拨付对应的里程碑（本项目的有效里程碑），可为空"
    )
    note: LongText = ""


class DisbursementRead(ReadModel):
    id: int
    project_id: int
    milestone_id: int | None
    amount: Money
    note: str
    created_by_id: int
    created_at: datetime


class DisbursementPage(Page[DisbursementRead]):
    """财政资金拨付记录，新的在前。"""
