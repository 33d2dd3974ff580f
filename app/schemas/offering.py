from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.models import Maturity, TransferMode
from app.schemas.common import Description, Page, PatchModel, ReadModel, Tag, Tags, Title

Patents = Annotated[list[Tag], Field(max_length=50, examples=[["ZL202110000000.0"]])]


class CapabilityCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "先进陶瓷材料团队",
                    "description": "长期从事氮化硼、碳化硅等先进陶瓷的制备与表征。",
                    "tags": ["先进陶瓷", "化学气相沉积"],
                }
            ]
        },
    )

    title: Title
    description: Description
    tags: Tags = []


class CapabilityUpdate(PatchModel):
    """Any subset of the editable fields; server-owned fields are refused."""

    title: Title | None = None
    description: Description | None = None
    tags: Tags | None = None


class CapabilityRead(ReadModel):
    id: int
    organization_id: int
    title: str
    description: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class ResultCreate(CapabilityCreate):
    maturity: Maturity = Field(description="lab | pilot | industrialised")
    transfer_mode: TransferMode = Field(
        description="transfer | licence | equity | joint_development"
    )
    patents: Patents = []


class ResultUpdate(CapabilityUpdate):
    maturity: Maturity | None = None
    transfer_mode: TransferMode | None = None
    patents: Patents | None = None


class ResultRead(CapabilityRead):
    maturity: Maturity
    transfer_mode: TransferMode
    patents: list[str]


class CapabilityPage(Page[CapabilityRead]):
    """科研能力列表：一页 `items`，`total` 为符合条件的总数。"""


class ResultPage(Page[ResultRead]):
    """科技成果列表：一页 `items`，`total` 为符合条件的总数。"""
