"""Password hashing (argon2id) and signed, expiring access tokens (HS256 JWT)."""

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from app.config import get_settings
from app.schemas.common import MAX_ID

ALGORITHM = "HS256"
# A user id as create_access_token writes it: ASCII digits, no sign, space or leading zero.
# int() alone would also take " 2", "+2", "02" and "٢" as user 2.
_USER_ID = re.compile(r"[1-9][0-9]{0,9}")


@lru_cache
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=1,
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verified against when the username is unknown, so both failures cost the same time.
@lru_cache
def dummy_hash() -> str:
    return hash_password("not-a-real-password-0000")


def create_access_token(user_id: int, *, now: datetime | None = None) -> str:
    settings = get_settings()
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=settings.access_token_minutes)).timestamp()),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def read_access_token(token: str) -> int | None:
    """The user id a valid token names, or None for any invalid, expired or tampered token."""
    try:
        claims = jwt.decode(
            token,
            get_settings().secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    sub = claims["sub"]
    if not isinstance(sub, str) or _USER_ID.fullmatch(sub) is None:
        return None
    user_id = int(sub)
    # The id column is 32-bit: a larger id names nobody, and the driver would refuse it.
    return user_id if user_id <= MAX_ID else None


@lru_cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn's list: 30,000 passwords seen in leaks. Imported here, not at start-up.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(p.casefold() for p in FREQUENCY_LISTS["passwords"])


def password_weakness(password: str, *, username: str) -> str | None:
    """Why this password is too weak for this username (in Chinese), or None if it will do."""
    folded = unicodedata.normalize("NFKC", password).casefold()
    name = unicodedata.normalize("NFKC", username).strip().casefold()
    if name and name in folded:
        return "密码不能包含用户名"
    if folded in _common_passwords():
        return "密码过于常见，请换一个不易被猜到的密码"
    return None
