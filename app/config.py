"""Settings from environment variables (and an optional `.env` file).

A setting that cannot be used stops every entry point (uvicorn, `python -m app.bootstrap`,
alembic) with one line that names the variable and never shows its value.
"""

import logging
import os
import secrets
import stat
import tempfile
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, NoReturn

from limits import parse_many
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

# Chaoyang (朝阳市) and its counties, GB/T 2260.
DEFAULT_REGIONS = ("211300", "211302", "211303", "211321", "211322", "211324", "211381", "211382")
MIN_SECRET_BYTES = 32
# The development key, generated at the first start, in DATA_DIR.
KEY_FILE = "secret_key"
MIB = 1024 * 1024
DEMO_REFUSED = "demo data (whose passwords are public) loads only in development"


class Environment(StrEnum):
    development = "development"
    staging = "staging"
    production = "production"


class SettingError(ValueError):
    """A setting that cannot be used: the message names the variable, never its value."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Environment = Environment.development
    # The development key file and, unless DATABASE_URL says otherwise, the SQLite database.
    data_dir: Path = Path("var")
    # Unset: SQLite in DATA_DIR.
    database_url: str = ""
    # Unset in development: a random key kept in DATA_DIR; required everywhere else.
    secret_key: str = ""
    access_token_minutes: int = Field(default=60 * 8, ge=1, le=60 * 24 * 30)
    cors_origins: Annotated[list[str], NoDecode] = []
    regions: Annotated[list[str], NoDecode] = list(DEFAULT_REGIONS)
    first_bureau_username: str | None = None
    first_bureau_password: str | None = None
    # Unset: on in development, off elsewhere (where it is refused: its passwords are public).
    demo: bool = False
    log_level: str = "INFO"
    # Larger request bodies are answered 413 before they are read.
    max_body_bytes: int = Field(default=MIB, ge=1)
    # Load the match index in the background at start, so no request waits for it.
    match_warmup: bool = True
    # PostgreSQL: how long a statement may wait for a row lock, run, or wait to connect
    # (seconds; 0 turns a timeout off). A lock wait that ends answers 503 with Retry-After.
    db_lock_timeout: float = Field(default=5, ge=0)
    db_statement_timeout: float = Field(default=30, ge=0)
    db_connect_timeout: int = Field(default=5, ge=0)
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
    # After the award: the public notice (公示) in working days (0: no notice period), the
    # dates that are not working days besides weekends (ISO dates, comma-separated), and how
    # many years an organisation whose project failed for misconduct may not bid.
    publicity_days: int = Field(default=5, ge=0, le=60)
    holidays: Annotated[list[date], NoDecode] = []
    misconduct_ban_years: int = Field(default=3, ge=0, le=20)

    @model_validator(mode="before")
    @classmethod
    def _lists_from_csv(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("cors_origins", "regions", "holidays"):
                if key in data:
                    data[key] = _split_csv(data[key])
        return data

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in logging.getLevelNamesMapping():
            raise SettingError("LOG_LEVEL", "must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @field_validator("database_url")
    @classmethod
    def _parsable_database_url(cls, value: str) -> str:
        # SQLAlchemy's own messages quote the URL, password included.
        if value:
            try:
                make_url(value).get_dialect()
            except NoSuchModuleError:
                raise SettingError("DATABASE_URL", "names an unknown database driver") from None
            except ArgumentError:
                raise SettingError("DATABASE_URL", "is not a SQLAlchemy database URL") from None
        return value

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
            raise SettingError(name, "must be a rate such as 20/minute or 5/minute;50/hour")
        return value

    @model_validator(mode="after")
    def _complete(self) -> "Settings":
        development = self.environment is Environment.development
        if not self.secret_key:
            if not development:
                raise SettingError(
                    "SECRET_KEY", f"must be set when ENVIRONMENT is {self.environment}"
                )
            self.secret_key = load_or_create_key(self.data_dir)
        elif len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise SettingError("SECRET_KEY", f"must be at least {MIN_SECRET_BYTES} bytes")
        if "demo" not in self.model_fields_set:
            self.demo = development
        elif self.demo and not development:
            raise SettingError("DEMO", DEMO_REFUSED)
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'jiebang.db').as_posix()}"
        if bool(self.first_bureau_username) != bool(self.first_bureau_password):
            raise SettingError(
                "FIRST_BUREAU_PASSWORD", "set FIRST_BUREAU_USERNAME and FIRST_BUREAU_PASSWORD both"
            )
        if self.first_bureau_password and len(self.first_bureau_password) < 10:
            raise SettingError("FIRST_BUREAU_PASSWORD", "must have at least 10 characters")
        return self


def load_or_create_key(data_dir: Path) -> str:
    """The development key kept in `data_dir`, made at first use; every process reads the same."""
    path = data_dir / KEY_FILE
    if not path.exists():
        try:
            _create_key_file(path)
        except OSError as exc:
            raise SettingError(
                "DATA_DIR", f"cannot keep the development key in {data_dir}: {exc.strerror}"
            ) from None
    try:
        mode = path.stat().st_mode
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingError("SECRET_KEY", f"cannot read {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SettingError("SECRET_KEY", f"{path} is readable by others: chmod 600 it")
    if len(key.encode()) < MIN_SECRET_BYTES:
        raise SettingError(
            "SECRET_KEY", f"{path} holds fewer than {MIN_SECRET_BYTES} bytes: delete it"
        )
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name (mode 0600), then linked into place: of several
    # processes starting at once one link wins, and the others read its complete file.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{KEY_FILE}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)


def describe(exc: ValidationError) -> str:
    """One line naming each setting that failed, without the values that were given."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, SettingError):
            problems.append(str(cause))
        else:
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            problems.append(f"{name}: {error['msg']}")
    return "; ".join(problems)


def exit_for(problem: str) -> NoReturn:
    """End the process with one line on stderr: no traceback, no setting's value."""
    raise SystemExit(f"configuration error: {problem}")


@lru_cache
def get_settings() -> Settings:
    """The settings, read once; unusable settings end the process with one line."""
    try:
        return Settings()
    except ValidationError as exc:
        exit_for(describe(exc))
    except (SettingError, SettingsError) as exc:
        exit_for(str(exc))
