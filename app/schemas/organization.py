import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator

from app.models import OrganizationKind, OrganizationStatus
from app.schemas.auth import UserRead
from app.schemas.common import ReadModel, Region, Title, half_width

# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z), the last a check character.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")


def credit_code_check_char(first17: str) -> str:
    total = sum(
        CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def _credit_code(value: str) -> str:
    code = half_width(value).strip().upper()
    if len(code) != 18 or any(c not in CREDIT_CODE_ALPHABET for c in code):
        raise ValueError("统一社会信用代码应为 18 位数字或大写字母（不含 I、O、S、V、Z）")
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValueError("统一社会信用代码校验位不正确（GB 32100-2015）")
    return code


def _username(value: str) -> str:
    name = half_width(value).strip().lower()
    if not _USERNAME.match(name):
        raise ValueError("用户名为 3–64 位小写字母、数字、点、下划线或连字符，以字母或数字开头")
    return name


CreditCode = Annotated[str, AfterValidator(_credit_code), Field(examples=["91211300MA0Y6ABC16"])]
Username = Annotated[str, AfterValidator(_username), Field(examples=["lingang_steel"])]
Password = Annotated[str, Field(min_length=10, max_length=128)]
# A single line without control characters (PostgreSQL refuses NUL in text).
DisplayName = Annotated[Title, Field(max_length=100)]


class OrganizationCreate(BaseModel):
    kind: OrganizationKind = Field(description="enterprise | university | institute")
    name: Title
    credit_code: CreditCode | None = None
    region: Region

    @model_validator(mode="after")
    def _rules_by_kind(self) -> "OrganizationCreate":
        if self.kind is OrganizationKind.bureau:
            raise ValueError("科技局账号不能自行注册")
        if self.kind is OrganizationKind.enterprise and self.credit_code is None:
            raise ValueError("企业注册须填写统一社会信用代码")
        return self


class UserCreate(BaseModel):
    username: Username
    password: Password
    display_name: DisplayName


class RegistrationCreate(BaseModel):
    organization: OrganizationCreate
    user: UserCreate

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "organization": {
                        "kind": "enterprise",
                        "name": "朝阳示例新材料有限公司",
                        "credit_code": "91211300MA0Y6ABC16",
                        "region": "211302",
                    },
                    "user": {
                        "username": "zhang_wei",
                        "password": "a-long-password",
                        "display_name": "张伟",
                    },
                }
            ]
        }
    }


class OrganizationRead(ReadModel):
    id: int
    kind: OrganizationKind
    name: str
    credit_code: str | None
    region: str
    status: OrganizationStatus
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime


class RegistrationRead(OrganizationRead):
    user: UserRead
