"""The report page in a real browser: headless Chromium against a real server with data.

Skipped only when `chromium` is missing outside CI (`.ci/run` installs it and fonts-noto-cjk).
"""

import json
import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
from sqlalchemy.orm import Session

from app.db import make_engine, migrate
from app.models import OrganizationKind
from app.models.challenge import Sector
from app.models.project import ProjectStatus
from app.models.stats import Target
from app.services.report_page import BLUE, CSS
from tests.bearer_proxy import bearer_proxy
from tests.databases import create_database
from tests.factories import PASSWORD, make_challenge, make_user
from tests.project_factories import make_world
from tests.servers import serve

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (apt-get install chromium fonts-noto-cjk; CI installs it)",
)
# Chromium's own background requests (network time, component updates, sign-in), not the page's:
# the host rules resolve them to nothing, so they leave the machine no more than any other.
CHROMIUM_OWN = {"clients2.google.com", "update.googleapis.com", "accounts.google.com"}
PAGE = "/api/v1/stats/report.html?period=2026"


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    """Headless Chromium that can resolve no name but 127.0.0.1 and makes no own requests."""
    assert CHROMIUM, "CI must install chromium (.ci/run)"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=5000",
        "--enable-logging=stderr",
        "--hide-scrollbars",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """A PNG's width, height and rows of RGB(A) bytes (8-bit, not interlaced: Chromium's)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8
            channels = {2: 3, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[i] = (row[i] + guess) & 0xFF
        rows.append(bytes(row))
        previous = row
    return width, height, [bytes(r) for r in rows]


def count_colour(png: bytes, hex_colour: str) -> int:
    """How many pixels are exactly this colour."""
    width, _, rows = pixels(png)
    rgb = bytes.fromhex(hex_colour.lstrip("#"))
    step = len(rows[0]) // width
    return sum(1 for row in rows for i in range(0, len(row), step) if row[i : i + 3] == rgb)


class SvgShapes(HTMLParser):
    """The rects and paths of each chart (by its aria-label) with their width and height."""

    def __init__(self) -> None:
        super().__init__()
        self.chart: str | None = None
        self.shapes: dict[str, list[tuple[float, float]]] = {}
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src", "xlink:href"):
            if values.get(name):
                self.urls.append(str(values[name]))
        if tag == "svg":
            self.chart = values.get("aria-label")
            self.shapes.setdefault(str(self.chart), [])
        elif tag == "rect" and self.chart:
            size = (float(values["width"] or 0), float(values["height"] or 0))
            self.shapes[self.chart].append(size)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.chart = None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server over a committed database with a year of data: (its URL, a bureau token)."""
    url, drop = create_database(tmp_path_factory.mktemp("report-page"))
    try:
        migrate(url)
        engine = make_engine(url)
        with Session(engine) as session:
            bureau = make_user(session, kind=OrganizationKind.bureau)
            owner = make_user(session)
            for month, region, sector in ((2, "211302", Sector.industry),
                                          (3, "211303", Sector.agriculture),
                                          (5, "211381", Sector.services)):  # fmt: skip
                make_challenge(
                    session, owner=owner, region=region, sector=sector
                ).published_at = datetime(2026, month, 10, tzinfo=UTC)
            world = make_world(session, status=ProjectStatus.completed)
            world.project.created_at = datetime(2026, 4, 1, tzinfo=UTC)
            world.project.ended_at = datetime(2026, 6, 1, tzinfo=UTC)
            late = make_world(session, milestone_dates=(date(2026, 3, 1),))
            late.challenge.region = late.project.region = "211322"  # as copied at the award
            for sector, count in (
                (Sector.agriculture, 4),
                (Sector.industry, 6),
                (Sector.services, 2),
            ):
                session.add(
                    Target(year=2026, sector=sector, region="", published=count, awarded=count)
                )
            session.add(Target(year=2026, sector=Sector.industry, region="211302", published=1))
            session.commit()
            username = bureau.username
        engine.dispose()
        env = {**os.environ, "DATABASE_URL": url, "MATCH_WARMUP": "0", "RATE_LIMITS": "off"}
        with serve(env) as server:
            token = httpx.post(
                server.url + "/api/v1/auth/token",
                data={"username": username, "password": PASSWORD},
            ).json()["access_token"]
            yield server.url, token
    finally:
        drop()


def test_page_passes_its_own_csp_and_loads_nothing_external(served: tuple[str, str]) -> None:
    url, token = served
    answer = httpx.get(url + PAGE, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script" not in answer.text.lower()
    assert f"<style>{CSS}</style>" in answer.text
    assert "style=" not in answer.text  # inline style attributes would need 'unsafe-inline'
    parser = SvgShapes()
    parser.feed(answer.text)
    assert parser.urls == []  # no link, image or script of any origin


def test_chromium_draws_the_charts_and_requests_only_the_server(
    served: tuple[str, str], tmp_path: Path
) -> None:
    """The charts are painted, the CSP blocks nothing, and no request leaves the machine.

    Painted: in the screenshot, the bars' blue (#1f5fa8, drawn only by the SVG rects) covers
    many pixels; the DOM Chromium built has each chart's rects with non-zero sizes. Blocked:
    Chromium logs each CSP refusal ("Refused to apply inline style...") on stderr. Requests:
    names resolve to nothing but 127.0.0.1, and every URL in Chromium's net log is the local
    forwarder's (which adds the bureau's token, tests/bearer_proxy.py).
    """
    url, token = served
    with bearer_proxy(url, token) as (local, paths):
        net_log = tmp_path / "net.json"
        dom = chromium(
            f"--log-net-log={net_log}", "--dump-dom", local + PAGE, profile=tmp_path / "p1"
        )
        shot = tmp_path / "page.png"
        painted = chromium(
            f"--screenshot={shot}", "--window-size=794,2200", local + PAGE, profile=tmp_path / "p2"
        )
    assert "Refused to" not in dom.stderr + painted.stderr
    parser = SvgShapes()
    parser.feed(dom.stdout)
    for chart in ("按领域的目标进度", "月度趋势", "县区排名"):
        drawn = [size for size in parser.shapes[chart] if size[0] > 0 and size[1] > 0]
        assert drawn, chart
    assert count_colour(shot.read_bytes(), BLUE) > 2000
    assert set(paths) <= {PAGE, "/favicon.ico"}
    urls = {
        str(event["params"]["url"])
        for event in json.loads(net_log.read_text())["events"]
        if "url" in event.get("params", {})
    }
    assert urls, "the net log recorded the page's request"
    foreign = {u for u in urls if not u.startswith(local + "/")}
    assert {urlsplit(u).hostname for u in foreign} - CHROMIUM_OWN == set(), sorted(foreign)


def test_chinese_text_has_glyphs(tmp_path: Path) -> None:
    """The system has a CJK font that the page's font stack reaches, with real glyphs.

    A font without the characters draws each of them as the same .notdef box ("tofu"), so two
    different Chinese texts would give identical screenshots. The page's own CSS renders
    "揭榜挂帅" and "统计报表" (local files, no server): their pixels must differ from each
    other and from a blank page. Without fonts-noto-cjk (or another CJK font) this fails; the
    `fc-list :lang=zh` check names the cause. Checked by hand: with fontconfig limited to
    DejaVu (FONTCONFIG_FILE), both texts render as four identical boxes, byte for byte.
    """
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    assert fonts.stdout.strip(), "no Chinese font: apt-get install fonts-noto-cjk"
    shots = []
    for i, text in enumerate(("揭榜挂帅", "统计报表", "")):
        page = tmp_path / f"{i}.html"
        page.write_text(
            f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{CSS}'
            f"h1 {{ font-size: 48px; }}</style></head><body><h1>{text}</h1></body></html>"
        )
        shot = tmp_path / f"{i}.png"
        chromium(f"--screenshot={shot}", "--window-size=400,120", page.as_uri(),
                 profile=tmp_path / f"p{i}")  # fmt: skip
        shots.append(pixels(shot.read_bytes())[2])
    first, second, blank = shots
    assert first != blank
    assert first != second
