"""Settings: no key anyone knows, demo data only in development, errors that name the setting."""

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import KEY_FILE, Environment, Settings, describe

ROOT = Path(__file__).resolve().parents[1]
KEY = "a-test-secret-key-that-is-long-enough-0123"


def _error(**settings: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings(**settings)  # type: ignore[arg-type]
    return describe(caught.value)


def test_development_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path, secret_key="")
    again = Settings(data_dir=tmp_path, secret_key="")

    assert first.secret_key == again.secret_key
    assert len(first.secret_key.encode()) >= 32
    key_file = tmp_path / KEY_FILE
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE]  # no temporary left


def test_each_data_folder_gets_its_own_random_key(tmp_path: Path) -> None:
    keys = {Settings(data_dir=tmp_path / str(n), secret_key="").secret_key for n in range(3)}

    assert len(keys) == 3


def test_key_file_is_made_in_a_new_data_folder(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet"

    settings = Settings(data_dir=data_dir, secret_key="")

    assert (data_dir / KEY_FILE).read_text().strip() == settings.secret_key


def test_processes_starting_together_end_with_one_key(tmp_path: Path) -> None:
    data_dir, ready, go = tmp_path / "data", tmp_path / "ready", tmp_path / "go"
    ready.mkdir()
    # Each process imports, says it is ready, and waits for one signal to make the key at once.
    program = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from app.config import load_or_create_key\n"
        "(Path(sys.argv[2]) / str(os.getpid())).touch()\n"
        "deadline = time.monotonic() + 60\n"
        "while not Path(sys.argv[3]).exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.001)\n"
        "print(load_or_create_key(Path(sys.argv[1])))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", program, str(data_dir), str(ready), str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    deadline = time.monotonic() + 60
    while len(list(ready.iterdir())) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    outputs = [proc.communicate(timeout=60) for proc in procs]

    assert [proc.returncode for proc in procs] == [0] * 8, [err for _, err in outputs]
    keys = {out.strip() for out, _ in outputs}
    assert keys == {(data_dir / KEY_FILE).read_text().strip()}
    assert sorted(p.name for p in data_dir.iterdir()) == [KEY_FILE]


def test_key_file_that_others_can_read_is_refused(tmp_path: Path) -> None:
    Settings(data_dir=tmp_path, secret_key="")
    (tmp_path / KEY_FILE).chmod(0o644)

    assert "chmod 600" in _error(data_dir=tmp_path, secret_key="")


def test_short_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("tiny-Zq81\n")
    (tmp_path / KEY_FILE).chmod(0o600)

    message = _error(data_dir=tmp_path, secret_key="")

    assert message.startswith("SECRET_KEY: ")
    assert "tiny-Zq81" not in message


@pytest.mark.parametrize("environment", [Environment.staging, Environment.production])
def test_missing_secret_is_refused_outside_development(
    environment: Environment, tmp_path: Path
) -> None:
    message = _error(environment=environment, secret_key="", data_dir=tmp_path)

    assert message == f"SECRET_KEY: must be set when ENVIRONMENT is {environment}"
    assert not (tmp_path / KEY_FILE).exists()


def test_short_secret_is_refused_without_showing_it() -> None:
    message = _error(secret_key="my-short-secret")

    assert message == "SECRET_KEY: must be at least 32 bytes"


def test_given_secret_is_used_and_no_key_file_is_made(tmp_path: Path) -> None:
    settings = Settings(environment=Environment.production, secret_key=KEY, data_dir=tmp_path)

    assert settings.secret_key == KEY
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (Environment.development, True),
        (Environment.staging, False),
        (Environment.production, False),
    ],
)
def test_demo_default_follows_the_environment(
    environment: Environment, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEMO", raising=False)

    assert Settings(environment=environment, secret_key=KEY).demo is expected


@pytest.mark.parametrize("environment", [Environment.staging, Environment.production])
def test_demo_is_refused_outside_development(
    environment: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO", "1")

    assert _error(environment=environment, secret_key=KEY).startswith("DEMO: ")
    monkeypatch.setenv("DEMO", "0")
    assert Settings(environment=environment, secret_key=KEY).demo is False


def test_sqlite_database_lives_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)

    settings = Settings(data_dir=tmp_path, secret_key=KEY)

    assert settings.database_url == f"sqlite:///{tmp_path}/jiebang.db"
    assert Settings(secret_key=KEY).database_url == "sqlite:///var/jiebang.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg//app:pw-Zq81@db", "DATABASE_URL: is not a SQLAlchemy database URL"),
        ("nosuchdb://app:pw-Zq81@db/x", "DATABASE_URL: names an unknown database driver"),
    ],
)
def test_bad_database_url_is_refused_without_its_password(url: str, message: str) -> None:
    assert _error(database_url=url, secret_key=KEY) == message


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"environment": "prod"}, "ENVIRONMENT: Input should be"),
        ({"access_token_minutes": "abc"}, "ACCESS_TOKEN_MINUTES: Input should be a valid integer"),
        ({"log_level": "verbose"}, "LOG_LEVEL: must be DEBUG"),
        ({"max_body_bytes": 0}, "MAX_BODY_BYTES: Input should be greater than or equal to 1"),
        ({"holidays": "2026-10-01,十一"}, "HOLIDAYS: Input should be a valid date"),
        ({"publicity_days": -1}, "PUBLICITY_DAYS: Input should be greater than or equal to 0"),
        ({"misconduct_ban_years": "x"}, "MISCONDUCT_BAN_YEARS: Input should be a valid integer"),
        ({"first_bureau_username": "admin"}, "FIRST_BUREAU_PASSWORD: set FIRST_BUREAU_USERNAME"),
        (
            {"first_bureau_username": "admin", "first_bureau_password": "short"},
            "FIRST_BUREAU_PASSWORD: must have at least 10 characters",
        ),
    ],
)
def test_errors_name_the_setting(settings: dict[str, object], message: str) -> None:
    assert _error(secret_key=KEY, **settings).startswith(message)


def test_a_key_from_the_environment_writes_no_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("SECRET_KEY", KEY)

    settings = Settings()

    assert (settings.secret_key, settings.data_dir) == (KEY, data_dir)
    assert not (data_dir / KEY_FILE).exists()


def test_the_suites_environment_writes_no_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The settings every test and every server it starts reads (they inherit os.environ), with
    # only the data folder moved: a suite that would write var/secret_key writes it here.
    monkeypatch.setenv("DATA_DIR", str(tmp_path))

    Settings()

    assert not (tmp_path / KEY_FILE).exists()
