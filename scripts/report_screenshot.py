"""Regenerate docs/report-2026.png: the demo data's 2026 report page, as Chromium draws it.

    .venv/bin/python scripts/report_screenshot.py [docs/report-2026.png]

Loads the demo into a temporary SQLite database (alembic, then `python -m app.bootstrap`
with DATA_DIR in a temp dir), serves it with uvicorn on 127.0.0.1, signs in as the demo's
bureau, and screenshots /api/v1/stats/report.html?period=2026 with headless Chromium at A4
width (794 px) through a local forwarder that adds the token (tests/bearer_proxy.py).
Needs `chromium` and `fonts-noto-cjk`.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402

from tests.bearer_proxy import bearer_proxy  # noqa: E402
from tests.servers import serve  # noqa: E402

PAGE = "/api/v1/stats/report.html?period=2026"
SIZE = "794,1900"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out", nargs="?", type=Path, default=ROOT / "docs" / "report-2026.png", help="the PNG"
    )
    out = parser.parse_args().out
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATA_DIR": tmp, "ENVIRONMENT": "development", "DEMO": "1",
               "MATCH_WARMUP": "0", "RATE_LIMITS": "off"}  # fmt: skip
        env.pop("DATABASE_URL", None)
        python = sys.executable
        subprocess.run([python, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True)
        subprocess.run([python, "-m", "app.bootstrap"], cwd=ROOT, env=env, check=True)
        with serve(env) as server:
            token = httpx.post(
                server.url + "/api/v1/auth/token",
                data={"username": "bureau", "password": "demo-pass-2026"},
            ).json()["access_token"]
            with bearer_proxy(server.url, token) as (local, _):
                subprocess.run(
                    ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     f"--user-data-dir={tmp}/profile", "--virtual-time-budget=5000",
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                     f"--window-size={SIZE}", f"--screenshot={out}", local + PAGE],
                    check=True, capture_output=True,
                )  # fmt: skip
    print(f"{out}: {out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
