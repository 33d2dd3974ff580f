"""Settings from environment variables (and an optional `.env` file)."""

from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from limits import parse_many
from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET = "dev-secret-change-me-0123456789abcdef"
# Chaoyang (朝阳市) and its counties, GB/T 2260.
DEFAULT_REGIONS = ("211300", "211302", "211303", "211321", "211322", "211324", "211381", "211382")


class Environment(StrEnum):
    development = "development"
    staging = "staging"
    production = "production"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Environment = Environment.development
    database_url: str = "sqlite:///./var/jiebang.db"
    secret_key: str = DEFAULT_SECRET
    access_token_minutes: int = Field(default=60 * 8, ge=1, le=60 * 24 * 30)
    cors_origins: Annotated[list[str], NoDecode] = []
    regions: Annotated[list[str], NoDecode] = list(DEFAULT_REGIONS)
    first_bureau_username: str | None = None
    first_bureau_password: str | None = None
    demo: bool = True
    log_level: str = "INFO"
    # Load the match index in the background at start, so no request waits for it.
    match_warmup: bool = True
    # Threads per search: 2 splits a search's postings and rescoring with a helper thread;
    # unset: 2 where the process may use two cores or more.
    match_threads: int | None = Field(default=None, ge=1, le=2)
    # argon2id at OWASP's minimum: m = 19 MiB, t = 2, p = 1.
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    # Abuse limits, per process (README "Rate limits"); `limits` notation: "20/minute",
    # "5/minute;50/hour". RATE_LIMITS=off turns every one of them off.
    rate_limits: bool = True
    rate_limit_signin_address: str = "20/minute"  # failed sign-ins per client address
    rate_limit_signin_username: str = "5/minute"  # failed sign-ins per username
    rate_limit_register: str = "20/hour"  # registration attempts per client address
    rate_limit_preview: str = "30/minute"  # match previews per user
    # Match previews running at once in a process (0: no bound), and how long one waits for
    # its turn before a 429 `preview_busy`.
    preview_concurrency: int = Field(default=1, ge=0, le=64)
    preview_wait_seconds: float = Field(default=2.0, ge=0, le=60)

    @model_validator(mode="before")
    @classmethod
    def _lists_from_csv(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("cors_origins", "regions"):
                if key in data:
                    data[key] = _split_csv(data[key])
        return data

    @field_validator(
        "rate_limit_signin_address",
        "rate_limit_signin_username",
        "rate_limit_register",
        "rate_limit_preview",
    )
    @classmethod
    def _rate(cls, value: str, info: ValidationInfo) -> str:
        name = (info.field_name or "").upper()
        try:
            items = parse_many(value)
        except ValueError:
            items = []
        if not items or any(item.amount < 1 for item in items):
            raise ValueError(f"{name} must be a rate such as 20/minute or 5/minute;50/hour")
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "Settings":
        if self.environment is not Environment.development and self.secret_key == DEFAULT_SECRET:
            raise ValueError("SECRET_KEY must be set outside development")
        if len(self.secret_key.encode()) < 32:
            raise ValueError("SECRET_KEY must be at least 32 bytes")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
