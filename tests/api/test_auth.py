"""Sign-in (`POST /auth/token`) and the signed-in user (`GET /users/me`)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import get_settings
from app.models import OrganizationKind, Role, User
from app.security import ALGORITHM, create_access_token
from tests.factories import PASSWORD, headers, make_user
from tests.problems import Response, assert_problem

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/users/me"


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Response:
    return client.post(TOKEN, data={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed(claims: dict[str, object], *, key: str | None = None, alg: str = ALGORITHM) -> str:
    return jwt.encode(claims, key or get_settings().secret_key, algorithm=alg)


def claims_for(user: User, **overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(user.id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


# --- POST /auth/token ---------------------------------------------------------------------


def test_sign_in_answers_bearer_token_that_opens_users_me(
    client: TestClient, session: Session
) -> None:
    user = make_user(session)

    r = sign_in(client, user.username)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == get_settings().access_token_minutes * 60
    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user.id


def test_unknown_user_and_wrong_password_get_identical_401(
    client: TestClient, session: Session
) -> None:
    user = make_user(session)
    session.commit()  # an error answer rolls the request's savepoint back; keep the user

    unknown = sign_in(client, "nobody-here")
    wrong = sign_in(client, user.username, "wrong-password-123")

    assert_problem(unknown, 401, "invalid_credentials")
    assert unknown.json() == wrong.json()
    assert unknown.status_code == wrong.status_code
    assert unknown.headers["www-authenticate"] == wrong.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("typed", ["UPPER", "Mixed", "padded"])
def test_sign_in_username_is_case_insensitive(
    client: TestClient, session: Session, typed: str
) -> None:
    user = make_user(session)
    username = {
        "UPPER": user.username.upper(),
        "Mixed": user.username.capitalize(),
        "padded": f"  {user.username}  ",
    }[typed]

    assert sign_in(client, username).status_code == 200


def test_sign_in_accepts_full_width_username_as_registration_does(
    client: TestClient, session: Session
) -> None:
    user = make_user(session)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in user.username)  # ｕｓｅｒ１２

    assert sign_in(client, full_width).status_code == 200


def test_inactive_user_is_refused_with_the_same_401(client: TestClient, session: Session) -> None:
    user = make_user(session)
    user.is_active = False
    session.commit()

    r = sign_in(client, user.username)

    assert_problem(r, 401, "invalid_credentials")
    assert r.json() == sign_in(client, "nobody-here").json()


def test_password_is_case_sensitive(client: TestClient, session: Session) -> None:
    user = make_user(session)

    assert_problem(sign_in(client, user.username, PASSWORD.upper()), 401, "invalid_credentials")


@pytest.mark.parametrize("username", ["user\x00name", "a" * 10_000, ""])
def test_odd_username_is_a_clean_refusal_not_a_500(client: TestClient, username: str) -> None:
    r = sign_in(client, username)

    assert r.status_code in (401, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_sign_in_with_json_body_is_422(client: TestClient, session: Session) -> None:
    user = make_user(session)

    r = client.post(TOKEN, json={"username": user.username, "password": PASSWORD})

    assert_problem(r, 422, "validation_error")


def test_sign_in_without_password_is_422(client: TestClient) -> None:
    assert_problem(client.post(TOKEN, data={"username": "someone"}), 422, "validation_error")


# --- GET /users/me ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        (OrganizationKind.enterprise, "enterprise"),
        (OrganizationKind.university, "university"),
        (OrganizationKind.institute, "institute"),
        (OrganizationKind.bureau, "bureau"),
    ],
)
def test_users_me_answers_role_and_organization(
    client: TestClient, session: Session, kind: OrganizationKind, role: str
) -> None:
    user = make_user(session, kind=kind)

    r = client.get(ME, headers=headers(user))

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == role
    assert body["organization_id"] == user.organization_id
    assert body["username"] == user.username
    assert "password_hash" not in body
    assert not any("argon2" in str(v) for v in body.values())


def test_users_me_of_expert_answers_expert_role(client: TestClient, session: Session) -> None:
    user = make_user(session, kind=OrganizationKind.university, role=Role.expert)

    assert client.get(ME, headers=headers(user)).json()["role"] == "expert"


def test_users_me_without_token_is_401(client: TestClient) -> None:
    r = client.get(ME)

    assert_problem(r, 401, "not_authenticated")
    assert r.headers["www-authenticate"] == "Bearer"


def test_users_me_with_non_bearer_scheme_is_401(client: TestClient, session: Session) -> None:
    user = make_user(session)

    r = client.get(ME, headers={"Authorization": f"Basic {user.username}:{PASSWORD}"})

    assert_problem(r, 401, "not_authenticated")


def _bad_token(case: str, user: User) -> str:
    past = datetime.now(UTC) - timedelta(hours=1)
    match case:
        case "garbage":
            return "not-a-jwt"
        case "expired":
            return create_access_token(user.id, now=past - timedelta(days=30))
        case "other_key":
            return signed(claims_for(user), key="another-secret-key-of-32-bytes-or-more")
        case "no_exp":
            return signed(claims_for(user, exp=None))
        case "alg_none":
            return jwt.encode(claims_for(user), key=None, algorithm="none")
        case "hs512":
            return signed(claims_for(user), alg="HS512")
        case "tampered":
            token = create_access_token(user.id)
            head, payload, sig = token.split(".")
            return f"{head}.{payload}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
        case "unknown_user":
            return signed(claims_for(user, sub="987654321"))
        case "non_numeric_sub":
            return signed(claims_for(user, sub="admin"))
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "garbage",
        "expired",
        "other_key",
        "no_exp",
        "alg_none",
        pytest.param(
            "hs512",
            marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
        ),
        "tampered",
        "unknown_user",
        "non_numeric_sub",
    ],
)
def test_users_me_with_invalid_token_is_401(
    client: TestClient, session: Session, case: str
) -> None:
    user = make_user(session)

    r = client.get(ME, headers=bearer(_bad_token(case, user)))

    assert_problem(r, 401, "invalid_token")
    assert r.headers["www-authenticate"] == "Bearer"


def test_token_of_deactivated_user_stops_working(client: TestClient, session: Session) -> None:
    user = make_user(session)
    token = headers(user)
    assert client.get(ME, headers=token).status_code == 200
    user.is_active = False
    session.flush()

    assert_problem(client.get(ME, headers=token), 401, "invalid_token")


def test_bad_token_is_401_even_on_a_public_route(client: TestClient) -> None:
    assert_problem(
        client.get("/api/v1/organizations", headers=bearer("garbage")), 401, "invalid_token"
    )


def test_user_of_unverified_organization_can_sign_in(client: TestClient, session: Session) -> None:
    user = make_user(session, verified=False)

    r = sign_in(client, user.username)

    assert r.status_code == 200, r.text
    assert client.get(ME, headers=bearer(r.json()["access_token"])).status_code == 200


@pytest.mark.parametrize("sub", ["99999999999999999999", "2147483648", "4294967296"])
def test_token_naming_an_id_out_of_range_is_401_not_500(
    client: TestClient, session: Session, sub: str
) -> None:
    user = make_user(session)

    r = client.get(ME, headers=bearer(signed(claims_for(user, sub=sub))))

    assert_problem(r, 401, "invalid_token")


@pytest.mark.parametrize(
    "spelling",
    [
        lambda n: f" {n}",
        lambda n: f"{n} ",
        lambda n: f"+{n}",
        lambda n: f"0{n}",
        lambda n: str(n).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        lambda n: str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ],
    ids=["leading space", "trailing space", "plus sign", "leading zero", "arabic-indic", "fw"],
)
def test_other_spellings_of_a_user_id_are_not_that_user(
    client: TestClient, session: Session, spelling: Callable[[int], str]
) -> None:
    user = make_user(session)
    assert client.get(ME, headers=bearer(signed(claims_for(user)))).status_code == 200

    r = client.get(ME, headers=bearer(signed(claims_for(user, sub=spelling(user.id)))))

    assert_problem(r, 401, "invalid_token")
