from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from app.schemas.common import Description, Page, ReadModel, single_line

Term = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=2, max_length=50),
    AfterValidator(single_line),
]


class MatchTermWeight(BaseModel):
    term: str
    weight: float = Field(description="该词对得分的贡献占比", examples=[0.42])


class MatchItemRead(ReadModel):
    id: int
    type: str = Field(description="capability | result | organization | challenge")
    title: str
    organization_id: int
    score: float = Field(gt=0, le=1, examples=[0.87])
    terms: list[MatchTermWeight]

    @field_validator("score")
    @classmethod
    def _rounded(cls, value: float) -> float:
        return round(value, 4)

    @field_validator("terms", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        if isinstance(value, list):
            return [
                {"term": v[0], "weight": round(float(v[1]), 4)} if isinstance(v, tuple) else v
                for v in value
            ]
        return value


class MatchList(BaseModel):
    """匹配结果：按得分从高到低的前 `limit` 条。是排名而非分页列表，故没有 total 与 offset。"""

    items: list[MatchItemRead]


class PreviewBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": "大尺寸热解氮化硼坩埚分层开裂，需要化学气相沉积工艺优化",
                    "target": "organizations",
                }
            ]
        },
    )

    text: Description
    target: str = Field(
        default="organizations",
        pattern="^(capabilities|results|organizations|challenges)$",
        description="capabilities | results | organizations | challenges",
    )


class TermCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term: Term = Field(examples=["热解氮化硼坩埚"])
    canonical: Term | None = Field(
        default=None, description="设置时，term 作为 canonical 的同义词", examples=[None]
    )


class TermRead(ReadModel):
    id: int
    term: str
    canonical: str | None
    created_at: datetime


class TermPage(Page[TermRead]):
    """领域词与同义词列表：一页 `items`，`total` 为总数。"""


class RebuildRead(BaseModel):
    documents: int
