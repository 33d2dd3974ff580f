"""Settings from environment variables (and an optional `.env` file)."""

from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import Field, model_validator
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
    # PostgreSQL: how long a statement may wait for a row lock, run, or wait to connect
    # (seconds; 0 turns a timeout off). A lock wait that ends answers 503 with Retry-After.
    db_lock_timeout: float = Field(default=5, ge=0)
    db_statement_timeout: float = Field(default=30, ge=0)
    db_connect_timeout: int = Field(default=5, ge=0)
    # argon2id at OWASP's minimum: m = 19 MiB, t = 2, p = 1.
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2

    @model_validator(mode="before")
    @classmethod
    def _lists_from_csv(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("cors_origins", "regions"):
                if key in data:
                    data[key] = _split_csv(data[key])
        return data

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
