"""`python -m app.bootstrap`: the first bureau account and the demo data, idempotently."""

import pytest
from sqlalchemy import func, select

from app import bootstrap
from app.config import get_settings
from app.db import get_session_factory
from app.models import Challenge, ChallengeStatus, MatchDocument, Organization, Role, User
from app.security import verify_password


def _count(model: type[object], *where: object) -> int:
    with get_session_factory()() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def test_first_bureau_user_is_created_once(
    live_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRST_BUREAU_USERNAME", "Admin")
    monkeypatch.setenv("FIRST_BUREAU_PASSWORD", "a-long-bureau-password")
    get_settings.cache_clear()
    bootstrap.main(["--demo", "0"])
    bootstrap.main(["--demo", "0"])
    with get_session_factory()() as session:
        users = session.scalars(select(User)).all()
        assert [(u.username, u.role) for u in users] == [("admin", Role.bureau)]
        assert verify_password(users[0].password_hash, "a-long-bureau-password")
    assert _count(Organization) == 1


def test_demo_loads_into_an_empty_database_only_once(
    live_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap.main(["--demo", "1"])
    printed = capsys.readouterr().out
    assert "演示账号" in printed
    assert "pbn_materials" in printed
    published = _count(Challenge, Challenge.status == ChallengeStatus.published)
    assert published >= 3
    # Every demo challenge, capability and result is ready for matching.
    assert _count(MatchDocument) >= published + 4
    organizations = _count(Organization)
    bootstrap.main(["--demo", "1"])
    assert "演示账号" not in capsys.readouterr().out
    assert _count(Organization) == organizations


def test_demo_zero_loads_nothing(live_database: str) -> None:
    bootstrap.main(["--demo", "0"])
    assert _count(Organization) == 0


def test_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        bootstrap.main(["--help"])
    assert exit_info.value.code == 0
    assert "FIRST_BUREAU_USERNAME" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "password123"), ("admin", "Admin-2026-Kq7!"), ("chaoyang_admin", "chaoyang_admin")],
)
def test_weak_first_bureau_password_is_refused_and_creates_nobody(
    live_database: str,
    monkeypatch: pytest.MonkeyPatch,
    username: str,
    password: str,
) -> None:
    monkeypatch.setenv("FIRST_BUREAU_USERNAME", username)
    monkeypatch.setenv("FIRST_BUREAU_PASSWORD", password)
    get_settings.cache_clear()

    with pytest.raises(SystemExit) as exit_info:
        bootstrap.main(["--demo", "0"])

    error = str(exit_info.value.code)
    assert error.startswith("configuration error: FIRST_BUREAU_PASSWORD: too weak")
    assert password not in error  # the secret itself is never echoed
    assert _count(User) == 0


def test_demo_is_refused_in_production_even_when_asked_for(
    live_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-key-that-is-long-enough-0123")
    get_settings.cache_clear()

    with pytest.raises(SystemExit) as exit_info:
        bootstrap.main(["--demo", "1"])

    assert str(exit_info.value.code).startswith("configuration error: DEMO: ")
    assert _count(Organization) == 0
    bootstrap.main([])  # DEMO follows the environment: off in production
    assert _count(Organization) == 0
