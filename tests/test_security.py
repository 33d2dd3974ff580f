"""Password hashing and access tokens (app.security), without a database."""

import base64
import json
import warnings
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import ValidationError

from app.config import Environment, Settings, get_settings
from app.security import (
    ALGORITHM,
    create_access_token,
    dummy_hash,
    hash_password,
    password_weakness,
    read_access_token,
    verify_password,
)

OTHER_KEY = "another-secret-key-that-is-long-enough-0123"


def _claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "42",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims: dict[str, object], *, key: str | None = None, alg: str = "HS256") -> str:
    return jwt.encode(claims, key or get_settings().secret_key, algorithm=alg)


def _segment(token: str, index: int) -> dict[str, object]:
    part = token.split(".")[index]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


# --- passwords ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stored_hash() -> str:
    return hash_password("correct-horse-battery")


def test_password_hash_is_argon2id_with_owasp_parameters(stored_hash: str) -> None:
    assert stored_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(stored_hash, "correct-horse-battery")


def test_password_hashes_are_salted() -> None:
    first, second = hash_password("same-password-1"), hash_password("same-password-1")

    assert first != second
    assert verify_password(first, "same-password-1")
    assert verify_password(second, "same-password-1")


@pytest.mark.parametrize("attempt", ["wrong-password", "Correct-horse-battery", "", "correct"])
def test_wrong_password_does_not_verify(stored_hash: str, attempt: str) -> None:
    assert not verify_password(stored_hash, attempt)


@pytest.mark.parametrize("stored", ["", "plaintext", "$argon2id$v=19$m=19456,t=2,p=1$garbage"])
def test_malformed_stored_hash_verifies_nothing_and_does_not_raise(stored: str) -> None:
    assert verify_password(stored, "plaintext") is False


def test_dummy_hash_for_unknown_users_is_a_real_argon2id_hash() -> None:
    assert dummy_hash().startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert dummy_hash() == dummy_hash()  # computed once


# --- tokens -------------------------------------------------------------------------------


def test_token_is_hs256_with_sub_iat_and_exp() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)

    token = create_access_token(7, now=now)

    assert ALGORITHM == "HS256"
    assert _segment(token, 0)["alg"] == "HS256"
    claims = _segment(token, 1)
    assert claims["sub"] == "7"
    assert claims["iat"] == int(now.timestamp())
    assert claims["exp"] == int(now.timestamp()) + get_settings().access_token_minutes * 60


def test_fresh_token_names_its_user() -> None:
    assert read_access_token(create_access_token(42)) == 42


def test_token_signed_by_hand_with_the_app_key_is_accepted() -> None:
    assert read_access_token(_sign(_claims())) == 42


def _invalid_token(case: str) -> str:
    now = datetime.now(UTC)
    match case:
        case "expired":
            return create_access_token(42, now=now - timedelta(days=365))
        case "just_expired":
            return _sign(_claims(exp=int(now.timestamp()) - 1))
        case "no_exp" | "no_iat" | "no_sub":
            return _sign(_claims(**{case.removeprefix("no_"): None}))
        case "non_numeric_sub":
            return _sign(_claims(sub="admin"))
        case "non_numeric_exp":
            return _sign(_claims(exp="tomorrow"))
        case "other_key":
            return _sign(_claims(), key=OTHER_KEY)
        case "alg_none":
            return jwt.encode(_claims(), key=None, algorithm="none")
        case "hs512":
            with warnings.catch_warnings():  # the app key is short for HS512; irrelevant here
                warnings.simplefilter("ignore")
                return _sign(_claims(), alg="HS512")
        case "garbage":
            return "not.a.jwt"
        case "empty":
            return ""
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "just_expired",
        "no_exp",
        "no_iat",
        "no_sub",
        "non_numeric_sub",
        "non_numeric_exp",
        "other_key",
        "alg_none",
        "hs512",
        "garbage",
        "empty",
    ],
)
def test_invalid_token_names_nobody(case: str) -> None:
    assert read_access_token(_invalid_token(case)) is None


def test_token_with_a_changed_payload_is_refused() -> None:
    head, _, signature = create_access_token(1).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(_claims(sub="2")).encode()).rstrip(b"=")

    assert read_access_token(f"{head}.{forged.decode()}.{signature}") is None


def test_alg_none_token_is_refused_even_with_an_empty_signature() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=").decode()

    assert read_access_token(f"{header}.{payload}.") is None


@pytest.mark.parametrize(
    "sub",
    [
        "99999999999999999999",  # past every integer column
        "2147483648",  # 2**31: past PostgreSQL's integer
        "0",
        "-1",
        " 2",
        "2 ",
        "2\n",
        "+2",
        "02",
        "٢",  # ARABIC-INDIC DIGIT TWO: int() reads it as 2
        "２",  # FULLWIDTH DIGIT TWO
        "2_0",  # int() allows underscores between digits
        "",
    ],
)
def test_token_sub_must_be_a_plain_user_id_in_range(sub: str) -> None:
    assert read_access_token(_sign(_claims(sub=sub))) is None


def test_token_sub_at_the_top_of_the_id_range_is_accepted() -> None:
    assert read_access_token(_sign(_claims(sub="2147483647"))) == 2**31 - 1


# --- password strength ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "username"),
    [
        ("password123", "zhang_wei"),  # in zxcvbn's common list
        ("PassWord123", "zhang_wei"),  # compared case-insensitively
        ("ｐａｓｓｗｏｒｄ１２３", "zhang_wei"),  # full-width forms fold to the same password
        ("qwertyuiop", "zhang_wei"),
        ("1234567890", "zhang_wei"),
        ("zhang_wei_2026", "zhang_wei"),  # contains the username
        ("My-ZHANG_WEI-pw", "zhang_wei"),  # contains it in another case
        ("lingang_steel", "lingang_steel"),  # equals it
    ],
)
def test_weak_password_is_named(password: str, username: str) -> None:
    assert password_weakness(password, username=username)


@pytest.mark.parametrize("password", ["Kq7!vT2m-0f3a9c", "correct-horse-battery", "demo-pass-2026"])
def test_uncommon_password_without_the_username_is_accepted(password: str) -> None:
    assert password_weakness(password, username="zhang_wei") is None


# --- settings that guard the keys ---------------------------------------------------------


def test_missing_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY: must be set"):
        Settings(environment=Environment.production, secret_key="")


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(secret_key="too-short")
