"""Field types shared by the API schemas, and the list envelope."""

import re
import unicodedata
from decimal import Decimal
from typing import Annotated, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from app.config import get_settings

T = TypeVar("T")
_CENT = Decimal("0.01")

# C0/C1 control characters. NUL in particular: PostgreSQL refuses it in text columns.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[\r\n\t\u2028\u2029]")
# The id columns are 32-bit integers on PostgreSQL: a larger id would be a database error.
MAX_ID = 2**31 - 1


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("不能包含控制字符")
    return value


def single_line(value: str) -> str:
    _no_control(value)
    if _LINE_BREAK.search(value):
        raise ValueError("不能包含换行或制表符")
    return value


def half_width(value: str) -> str:
    """Full-width letters and digits (ＡＢＣ１２３) as their ASCII forms."""
    return unicodedata.normalize("NFKC", value)


def _known_region(value: str) -> str:
    value = half_width(value).strip()
    if value not in get_settings().regions:
        raise ValueError("不是本系统受理的行政区划代码（GB/T 2260）")
    return value


_TRIM = {"strip_whitespace": True}
Title = Annotated[
    str, StringConstraints(**_TRIM, min_length=1, max_length=200), AfterValidator(single_line)
]
ShortText = Annotated[str, StringConstraints(**_TRIM, max_length=200), AfterValidator(single_line)]
Tag = Annotated[
    str, StringConstraints(**_TRIM, min_length=1, max_length=30), AfterValidator(single_line)
]
Tags = Annotated[list[Tag], Field(max_length=20)]
Description = Annotated[
    str, StringConstraints(**_TRIM, min_length=1, max_length=20_000), AfterValidator(_no_control)
]
LongText = Annotated[
    str, StringConstraints(**_TRIM, max_length=10_000), AfterValidator(_no_control)
]
Reason = Annotated[
    str, StringConstraints(**_TRIM, min_length=1, max_length=2_000), AfterValidator(_no_control)
]
SearchText = Annotated[str, StringConstraints(**_TRIM, max_length=100), AfterValidator(single_line)]
Region = Annotated[str, AfterValidator(_known_region), Field(examples=["211302"])]


def _cents(value: Decimal) -> Decimal:
    # Adding zero turns "-0" into "0", so a budget is never shown as "-0.00".
    return value.quantize(_CENT) + 0


Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2, examples=["120.00"], description="万元"),
    AfterValidator(_cents),
    PlainSerializer(lambda d: f"{d:.2f}", return_type=str, when_used="json"),
]


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ReasonBody(BaseModel):
    reason: Reason


class PatchModel(BaseModel):
    """A partial update: unknown fields are refused, and so is null for a field given."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"字段不能为 null：{', '.join(nulls)}")
        return self
