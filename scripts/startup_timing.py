"""How long a fresh clone takes to serve: set-up as `make run` does it, then uvicorn.

    python scripts/startup_timing.py            # clone HEAD of this repo into a temp dir

Steps, each timed and printed: `git clone` of the repo (committed files only), `alembic
upgrade head`, `python -m app.bootstrap` (demo data, so there is a challenge to match); then
uvicorn starts and the script polls `/healthz` until it answers 200 (the first target: within
5 s), then asks for a published challenge's matches until one answers 200 (the second target:
within 1 s of `/healthz`), and notes when `/readyz` first says 200. The Python that runs the
script stands in for the installed venv (it must have the runtime dependencies).
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
POLL = 0.02  # seconds between polls
START_LIMIT = 120.0  # seconds: give up on a server that does not come up


# As `make run` starts it.
UVICORN = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
UVICORN += ["--loop", "uvloop", "--http", "httptools"]


def _step(name: str, command: list[str], cwd: Path, env: dict[str, str]) -> float:
    print(f"... {name}", flush=True)
    started = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seconds = time.perf_counter() - started
    print(f"    {name}: {seconds:.1f} s", flush=True)
    return seconds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux), 0 if unknown.

    Wall times on a shared machine depend on its load; CPU seconds much less so.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _published_challenge(database: Path) -> int:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT id FROM challenge WHERE status = 'published' LIMIT 1").fetchone()
    if row is None:
        raise SystemExit("startup_timing: the demo data has no published challenge")
    return int(row[0])


def _poll(url: str, until: float, server: subprocess.Popen[bytes]) -> tuple[float, int]:
    """Seconds (perf_counter) of the first 200 from `url`, and how many answers were not 200."""
    others = 0
    while time.perf_counter() < until:
        if server.poll() is not None:
            raise SystemExit(f"startup_timing: uvicorn exited with {server.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return time.perf_counter(), others
            others += 1
        except httpx.TransportError:
            pass
        time.sleep(POLL)
    raise SystemExit(f"startup_timing: no 200 from {url} within {START_LIMIT:.0f} s")


def run(*, source: Path, keep: bool) -> dict[str, float]:
    """Clone, set up, start uvicorn and time it; returns the figures in seconds."""
    work = Path(tempfile.mkdtemp(prefix="startup-timing-"))
    repo = work / "repo"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{repo}/var/jiebang.db",
        "ENVIRONMENT": "development",
        "DEMO": "1",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "RATE_LIMITS": "off",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PYTHONPATH", None)
    py = sys.executable
    figures: dict[str, float] = {}
    print(f"startup timing in {work} (python {py})", flush=True)
    commit = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    figures["clone"] = _step(
        f"git clone (commit {commit[:10]})",
        ["sh", "-c", f'git clone -q "{source}" "{repo}" && git -C "{repo}" checkout -q {commit}'],
        work,
        env,
    )
    (repo / "var").mkdir(exist_ok=True)
    figures["migrate"] = _step(
        "alembic upgrade head", [py, "-m", "alembic", "upgrade", "head"], repo, env
    )
    figures["bootstrap"] = _step("python -m app.bootstrap", [py, "-m", "app.bootstrap"], repo, env)
    challenge = _published_challenge(repo / "var" / "jiebang.db")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    print("... uvicorn", flush=True)
    started = time.perf_counter()
    server = subprocess.Popen(
        [*UVICORN, "--port", str(port)],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        until = started + START_LIMIT
        healthy, _ = _poll(f"{base}/healthz", until, server)
        figures["healthz"] = healthy - started
        figures["healthz_cpu"] = _cpu_seconds(server.pid)
        print(
            f"    /healthz 200 after {figures['healthz']:.2f} s"
            f" ({figures['healthz_cpu']:.2f} s of the server's CPU)",
            flush=True,
        )
        matched, not_ok = _poll(f"{base}/api/v1/challenges/{challenge}/matches", until, server)
        figures["first_match"] = matched - healthy
        figures["match_503s"] = not_ok
        figures["first_match_cpu"] = _cpu_seconds(server.pid)
        print(
            f"    first match 200 {figures['first_match']:.2f} s after /healthz"
            f" ({not_ok} answers before it were 503;"
            f" {figures['first_match_cpu']:.2f} s of the server's CPU by then)",
            flush=True,
        )
        ready, _ = _poll(f"{base}/readyz", until, server)
        figures["readyz"] = ready - started
        print(f"    /readyz 200 after {figures['readyz']:.2f} s", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if not keep:
            subprocess.run(["rm", "-rf", str(work)], check=False)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run once and print the figures."""
    parser = argparse.ArgumentParser(
        prog="python scripts/startup_timing.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--source", type=Path, default=ROOT, help="the repo to clone")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args(argv)
    figures = run(source=args.source, keep=args.keep)
    print(" ".join(f"{name}={value:.2f}" for name, value in figures.items()))
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
