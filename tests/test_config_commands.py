"""Every entry point stops on a bad setting with one line: the setting's name, not its value.

The real commands run in subprocesses, all at once (each spends seconds importing the app).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHORT_KEY = "short-key-Zq81xv"
GOOD_KEY = "a-production-key-that-is-long-enough-Zq81xv"


COMMANDS = {
    "uvicorn": [str(BIN / "uvicorn"), "app.main:app", "--host", "127.0.0.1", "--port", "{port}"],
    "bootstrap": [sys.executable, "-m", "app.bootstrap"],
    "alembic": [str(BIN / "alembic"), "upgrade", "head"],
}
CASES: dict[str, tuple[dict[str, str], str]] = {
    "short_secret": ({"SECRET_KEY": SHORT_KEY}, "SECRET_KEY"),
    "unknown_environment": ({"ENVIRONMENT": "prod"}, "ENVIRONMENT"),
    "bad_integer": ({"ACCESS_TOKEN_MINUTES": "eight-hours"}, "ACCESS_TOKEN_MINUTES"),
    "demo_in_production": (
        {"ENVIRONMENT": "production", "SECRET_KEY": GOOD_KEY, "DEMO": "1"},
        "DEMO",
    ),
    "no_secret_in_production": ({"ENVIRONMENT": "production"}, "SECRET_KEY"),
}
# Every case through the server; the two that guard secrets through the other commands too.
RUNS = [("uvicorn", case) for case in CASES] + [
    (command, case)
    for command in ("bootstrap", "alembic")
    for case in ("short_secret", "no_secret_in_production")
]


@pytest.fixture(scope="module")
def outcomes(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, str], tuple[int, str, str]]:
    """Exit code and stderr of each run, started together and bounded in time."""
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "ENVIRONMENT", "DEMO", "DATABASE_URL"}
    }
    procs = {}
    for command, case in RUNS:
        data_dir = tmp_path_factory.mktemp(f"{command}-{case}")
        settings, _ = CASES[case]
        env = {
            **base,
            "DATA_DIR": str(data_dir),
            "MATCH_WARMUP": "0",
            "RATE_LIMITS": "off",
            **settings,
        }
        argv = [part.replace("{port}", str(free_port())) for part in COMMANDS[command]]
        procs[command, case] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    for key, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()  # it started despite the bad setting
            out, err = proc.communicate()
        results[key] = (proc.returncode, out, err)
    return results


@pytest.mark.parametrize(("command", "case"), RUNS)
def test_bad_setting_stops_the_command_with_one_line(
    outcomes: dict[tuple[str, str], tuple[int, str, str]], command: str, case: str
) -> None:
    code, out, err = outcomes[command, case]
    _, name = CASES[case]

    assert code != 0, err
    assert "Traceback" not in err
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"configuration error: {name}: "), err
    for value in (SHORT_KEY, GOOD_KEY):
        assert value not in err
