"""The list routes (and the statistics routes) over HTTP on a PostgreSQL database at real volume.

Seeds a PostgreSQL database with 100k challenges, 500k bids, 20k projects (each with three
milestones and one or two disbursements), 700k audit events and 200k notifications, in plain
SQL (``INSERT ... SELECT generate_series``: a few minutes, not the ORM one row at a time), after
``app.db.migrate`` has built the schema. The text is generated Chinese from the demo's
vocabulary (steel, semiconductor materials, grain, precision machinery...), spread over
2025-2026, the three sectors and Chaoyang's counties. Then it starts the real server (uvicorn,
``app.main:app``), signs in as the bureau and as an enterprise, and times each route with N
requests one after another: p50/p95/p99 in ms, one JSON object per route on stdout, then a table.

By default a new database ``bench_volume`` is created and dropped at the end; ``--keep`` leaves
it, ``--reuse`` uses an already seeded one (migrating it first, seeding it only when empty), so
a before/after comparison seeds once::

    python scripts/bench_volume.py --keep              # seed, time, keep the database
    python scripts/bench_volume.py --reuse             # migrate (new indexes), time again

To time another route, add one line to ``ROUTES`` (or pass ``--route 'name=as:/path'``).
Progress goes to stderr.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DATABASE = "bench_volume"
PASSWORD = "Bench-volume-2026!"
API = "/api/v1"

# name, who asks ("bureau", "enterprise" or "anonymous"), path (placeholders filled from the
# seeded data: {challenge_id} {object_id} {actor_id}). One line per route.
ROUTES: list[tuple[str, str, str]] = [
    ("challenges", "bureau", "/challenges"),
    ("challenges", "enterprise", "/challenges"),
    ("challenges", "anonymous", "/challenges"),
    ("challenges q=钢铁", "bureau", "/challenges?q=钢铁"),
    ("challenges q=钢铁", "enterprise", "/challenges?q=钢铁"),
    ("challenges q=氮化", "bureau", "/challenges?q=氮化"),
    ("challenges q=洁净钢", "bureau", "/challenges?q=洁净钢"),
    ("challenges q=热解氮化硼", "enterprise", "/challenges?q=热解氮化硼"),
    ("challenges q=技术 (common)", "bureau", "/challenges?q=技术"),
    ("challenges q=鲸鱼 (no hit)", "bureau", "/challenges?q=鲸鱼"),
    ("challenges q=量子纠缠 (no hit)", "bureau", "/challenges?q=量子纠缠"),
    ("challenges q=量子纠缠 (no hit)", "enterprise", "/challenges?q=量子纠缠"),
    ("challenges q=PBN (latin)", "bureau", "/challenges?q=pbn"),
    ("challenges offset=79000", "bureau", "/challenges?offset=79000"),
    ("challenges offset=79000", "enterprise", "/challenges?offset=79000"),
    ("challenges status=published", "enterprise", "/challenges?status=published"),
    ("challenges sector+region", "bureau", "/challenges?sector=industry&region=211382"),
    ("challenges status+sector+q", "bureau", "/challenges?status=closed&sector=industry&q=钢铁"),
    ("capabilities q=钢铁", "enterprise", "/capabilities?q=钢铁"),
    ("capabilities q=量子纠缠", "enterprise", "/capabilities?q=量子纠缠"),
    ("results q=氮化硼", "enterprise", "/results?q=氮化硼"),
    ("results q=鲸鱼", "enterprise", "/results?q=鲸鱼"),
    ("challenge bids", "bureau", "/challenges/{challenge_id}/bids"),
    ("challenge bids", "enterprise", "/challenges/{challenge_id}/bids"),
    ("projects", "bureau", "/projects"),
    ("projects", "enterprise", "/projects"),
    ("projects offset=19000", "bureau", "/projects?offset=19000"),
    ("audit-events", "bureau", "/audit-events"),
    ("audit-events offset=600000", "bureau", "/audit-events?offset=600000"),
    ("audit-events object_id", "bureau", "/audit-events?object_id={object_id}"),
    ("audit-events actor_id", "bureau", "/audit-events?actor_id={actor_id}"),
    ("audit-events actor_id=1 (175k events)", "bureau", "/audit-events?actor_id=1"),
    ("audit-events object_type", "bureau", "/audit-events?object_type=bid"),
    (
        "audit-events object_type+id",
        "bureau",
        "/audit-events?object_type=challenge&object_id={object_id}",
    ),
    ("notifications", "bureau", "/notifications"),
    ("notifications", "enterprise", "/notifications"),
    ("notifications unread", "enterprise", "/notifications?unread=true"),
]
# The statistics routes (issue targets: a year's summary p95 <= 300 ms, its XLSX <= 1 s).
STATS_ROUTES: list[tuple[str, str, str]] = [
    ("stats summary 2026", "bureau", "/stats/summary?year=2026"),
    ("stats summary 2026", "enterprise", "/stats/summary?year=2026"),
    ("stats report 2026-03", "bureau", "/stats/report?period=2026-03"),
    ("stats report 2026", "bureau", "/stats/report?period=2026"),
    ("stats report 2026 xlsx", "bureau", "/stats/report?period=2026&format=xlsx"),
    ("stats report 2026 csv", "bureau", "/stats/report?period=2026&format=csv"),
    ("challenges export csv", "bureau", "/challenges/export?format=csv&status=published"),
]

TABLES = (
    "challenge",
    "bid",
    "project",
    "project_milestone",
    "disbursement",
    "audit_event",
    "notification",
    "capability",
    "result",
)
COUNTIES = ["211302", "211303", "211321", "211322", "211324", "211381", "211382"]

# The demo's vocabulary (app/demo/catalogue.py) and the plan's: subjects, what is wanted, how.
SUBJECTS = [
    "洁净钢",
    "特种钢铁",
    "钢铁冶金",
    "高纯热解氮化硼",
    "PBN坩埚",
    "半导体材料",
    "先进陶瓷",
    "化学气相沉积",
    "杂粮加工",
    "即食米粉",
    "小米深加工",
    "食品保鲜",
    "精密运动控制",
    "光电系统",
    "汽车零部件",
    "风电装备",
    "光伏组件",
    "储能电池",
    "氢能装备",
    "设施农业",
    "节水灌溉",
    "畜牧养殖",
    "中药材种植",
    "农产品冷链",
    "工业互联网",
    "数字孪生",
    "智能制造",
    "机器视觉检测",
    "稀土永磁",
    "耐火材料",
    "铸造工艺",
    "焊接机器人",
    "矿山安全",
    "尾矿综合利用",
    "污水处理",
    "固废资源化",
]
WANTS = [
    "提高成品率",
    "降低能耗",
    "延长使用寿命",
    "减少杂质含量",
    "提升一致性",
    "缩短生产周期",
    "降低生产成本",
    "实现国产化替代",
    "提高自动化水平",
    "解决抗回生问题",
    "提高纯度至99.99%",
    "降低不良率",
]
HOWS = [
    "优化工艺参数",
    "开发专用装备",
    "建立在线检测系统",
    "引入人工智能算法",
    "改进配方设计",
    "开展中试验证",
    "搭建数据采集平台",
    "研究关键机理",
    "联合高校院所攻关",
    "形成行业标准",
]


@dataclass
class Figures:
    name: str
    who: str
    path: str
    status: int
    total: int | None
    n: int
    p50: float
    p95: float
    p99: float
    max: float


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pg_array(words: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


def pick(array: str, seed: str) -> str:
    """SQL: one element of the literal array, chosen by an integer expression."""
    return f"({array})[1 + (({seed}) % cardinality({array}))]"


def _rand(expr: str, salt: int) -> str:
    """SQL: a deterministic pseudo-random non-negative integer from an integer expression."""
    return f"(hashint4(({expr})::int # {salt})::bigint & 2147483647)"


def seed(conn: Connection, scale: float, password_hash: str) -> None:
    """Fill the database in plain SQL. `scale` multiplies every count (1.0 = the full size)."""
    n_chal = int(100_000 * scale)
    n_bid_per = 5
    n_proj = int(20_000 * scale)
    n_audit = int(700_000 * scale)
    n_notif = int(200_000 * scale)
    n_ent, n_uni, n_inst = 2000, 600, 200
    subj, want, how = pg_array(SUBJECTS), pg_array(WANTS), pg_array(HOWS)
    counties = pg_array(COUNTIES)
    sectors = "ARRAY['agriculture','industry','services']"
    # Start 2025-01-01 China time; 700 days of spread.
    t0 = "timestamptz '2025-01-01 08:00:00+08'"

    def step(label: str, sql: str, **params: Any) -> None:
        started = time.monotonic()
        result = conn.execute(text(sql), params)
        log(f"  {label}: {result.rowcount:,} rows in {time.monotonic() - started:.1f} s")

    log("seeding organisations and users")
    step(
        "organization",
        f"""
        INSERT INTO organization (id, kind, name, credit_code, region, status, created_at,
                                  updated_at)
        SELECT i,
               CASE WHEN i = 1 THEN 'bureau' WHEN i <= {1 + n_ent} THEN 'enterprise'
                    WHEN i <= {1 + n_ent + n_uni} THEN 'university' ELSE 'institute' END,
               CASE WHEN i = 1 THEN '朝阳市科学技术局'
                    WHEN i <= {1 + n_ent} THEN '朝阳' || {pick(subj, "i")} || '有限公司' || i
                    WHEN i <= {1 + n_ent + n_uni} THEN '辽宁' || {pick(subj, "i")} || '学院' || i
                    ELSE '朝阳' || {pick(subj, "i")} || '研究所' || i END,
               NULL,
               CASE WHEN i = 1 THEN '211300' ELSE {pick(counties, "i")} END,
               CASE WHEN i % 50 = 0 THEN 'unverified' ELSE 'verified' END,
               {t0}, {t0}
        FROM generate_series(1, {1 + n_ent + n_uni + n_inst}) AS i
        """,
    )
    step(
        "user_account",
        f"""
        INSERT INTO user_account (id, organization_id, username, display_name, password_hash,
                                  role, is_active, created_at, updated_at)
        SELECT o.id, o.id, 'u' || o.id, '用户' || o.id, :hash, o.kind, true, {t0}, {t0}
        FROM organization o
        """,
        hash=password_hash,
    )
    ent = f"(2 + {_rand('i', 11)} % {n_ent})"
    log(f"seeding {n_chal:,} challenges")
    # Statuses: 20% awarded (the first n_proj ids' worth, spread), the rest mixed.
    step(
        "challenge",
        f"""
        INSERT INTO challenge (id, organization_id, created_by_id, title, description,
            indicators, expected_outcome, sector, tags, budget, deadline, region, contact,
            status, status_reason, published_at, created_at, updated_at)
        SELECT i, org, org,
               {pick(subj, _rand("i", 1))} || {pick(want, _rand("i", 2))} || '技术攻关',
               '本企业在' || {pick(subj, _rand("i", 3))} || '领域面临技术瓶颈，'
                 || '现有工艺难以' || {pick(want, _rand("i", 4))} || '。'
                 || '希望揭榜单位通过' || {pick(how, _rand("i", 5))} || '、'
                 || {pick(how, _rand("i", 6))} || '等方式，在' || {pick(subj, _rand("i", 7))}
                 || '与' || {pick(subj, _rand("i", 8))} || '方面取得突破，'
                 || {pick(want, _rand("i", 9))} || '，并' || {pick(want, _rand("i", 10))}
                 || '。项目完成后形成可推广的技术方案，编号' || i || '。',
               '[{{"name": "成品率", "target": "≥95", "unit": "%"}}]',
               '形成' || {pick(subj, _rand("i", 12))} || '成套技术',
               {pick(sectors, _rand("i", 13))},
               '[]',
               50 + {_rand("i", 14)} % 950,
               created + interval '90 days',
               {pick(counties, _rand("i", 15))},
               '联系人' || i,
               CASE WHEN i % 5 = 0 THEN 'awarded'
                    ELSE (ARRAY['published','published','published','closed','closed',
                                'draft','pending_review','returned','withdrawn',
                                'cancelled'])[1 + {_rand("i", 16)} % 10] END,
               NULL,
               created + interval '3 days',
               created, created
        FROM (SELECT i, {ent} AS org,
                     {t0} + make_interval(mins => (i::bigint * 700 * 1440 / {n_chal})::int)
                       AS created
              FROM generate_series(1, {n_chal}) AS i) AS s
        """,
    )
    conn.execute(
        text("UPDATE challenge SET published_at = NULL WHERE status IN ('draft', 'pending_review')")
    )
    log(f"seeding {n_chal * n_bid_per:,} bids")
    research = f"(2 + {n_ent} + ((c * 7 + k * 131) % {n_uni + n_inst}))"
    step(
        "bid",
        f"""
        INSERT INTO bid (id, challenge_id, organization_id, created_by_id, approach, team,
            budget, duration_months, milestones, status, created_at, updated_at, indicators,
            sector, region)
        SELECT (c - 1) * {n_bid_per} + k + 1, c, {research}, {research},
               '拟通过' || {pick(how, _rand("c * 5 + k", 20))} || '，'
                 || {pick(want, _rand("c", 21))},
               '团队由教授、副教授和博士研究生组成',
               40 + (c + k) % 900, 12 + k * 3, '[]',
               CASE WHEN k = 0 AND c % 5 = 0 THEN 'awarded'
                    WHEN k = 4 THEN 'withdrawn' ELSE 'submitted' END,
               {t0} + make_interval(mins => (c::bigint * 700 * 1440 / {n_chal})::int + k * 60),
               {t0} + make_interval(mins => (c::bigint * 700 * 1440 / {n_chal})::int + k * 60),
               '[]', ch.sector, ch.region
        FROM generate_series(1, {n_chal}) AS c
        JOIN challenge AS ch ON ch.id = c, generate_series(0, {n_bid_per - 1}) AS k
        """,
    )
    # What services.bids.add_bid keeps: every challenge has received its bids.
    conn.execute(text(f"UPDATE challenge SET bid_count = {n_bid_per}"))
    log(f"seeding {n_proj:,} projects with milestones and disbursements")
    statuses = (
        "ARRAY['in_progress','in_progress','in_progress','completed','completed','signing',"
        "'publicity','acceptance_requested','rectification','failed','terminated']"
    )
    step(
        "project",
        f"""
        INSERT INTO project (id, challenge_id, bid_id, owner_organization_id,
            performer_organization_id, budget, status, created_at, updated_at, title,
            government_funding, disbursed, publicity_ends_at, open_objections, indicators,
            ip_ownership, started_at, acceptance_requests, failure_kind, ended_at, sector, region)
        SELECT p, ch.id, b.id, ch.organization_id, b.organization_id, b.budget,
               {pick(statuses, _rand("p", 30))}, ch.created_at + interval '30 days',
               ch.created_at + interval '30 days', ch.title, b.budget * 0.3, b.budget * 0.1,
               ch.created_at + interval '37 days', 0, '[]', '归发榜单位所有',
               ch.created_at + interval '45 days', 0, NULL, NULL, ch.sector, ch.region
        FROM generate_series(1, {n_proj}) AS p
        JOIN challenge ch ON ch.id = p * 5
        JOIN bid b ON b.challenge_id = ch.id AND b.status = 'awarded'
        """,
    )
    conn.execute(
        text(
            "UPDATE project SET failure_kind = 'tolerated', ended_at = updated_at"
            " WHERE status = 'failed';"
            "UPDATE project SET ended_at = updated_at WHERE status IN ('completed', 'terminated')"
        )
    )
    step(
        "project_milestone",
        """
        INSERT INTO project_milestone (id, project_id, position, title, due_date, status, active,
                                       created_at, updated_at)
        SELECT (pr.id - 1) * 3 + m, pr.id, m, (ARRAY['方案设计','中试验证','成果验收'])[m],
               (pr.created_at + make_interval(days => 120 * m))::date,
               CASE WHEN m = 1 THEN 'accepted' ELSE 'planned' END, true,
               pr.created_at, pr.created_at
        FROM project pr, generate_series(1, 3) AS m
        """,
    )
    step(
        "disbursement",
        """
        INSERT INTO disbursement (id, project_id, milestone_id, amount, note, created_by_id,
                                  created_at)
        SELECT row_number() OVER (), pr.id, (pr.id - 1) * 3 + d, pr.government_funding / 6,
               '第' || d || '笔拨付', 1, pr.created_at + make_interval(days => 60 * d)
        FROM project pr, generate_series(1, 2) AS d
        WHERE d = 1 OR pr.id % 2 = 0
        """,
    )
    log(f"seeding {n_audit:,} audit events and {n_notif:,} notifications")
    n_users = 1 + n_ent + n_uni + n_inst
    step(
        "audit_event",
        f"""
        INSERT INTO audit_event (id, created_at, actor_id, action, object_type, object_id,
                                 before, after, reason)
        SELECT i, {t0} + make_interval(mins => (i::bigint * 700 * 1440 / {n_audit})::int),
               CASE WHEN i % 4 = 0 THEN 1 WHEN i % 17 = 0 THEN NULL
                    ELSE 1 + {_rand("i", 40)} % {n_users} END,
               kind || '.' || (ARRAY['create','submit','approve','update','close'])[1 + i % 5],
               kind,
               CASE kind WHEN 'challenge' THEN 1 + {_rand("i", 41)} % {n_chal}
                         WHEN 'bid' THEN 1 + {_rand("i", 42)} % {n_chal * n_bid_per}
                         ELSE 1 + {_rand("i", 43)} % {max(n_proj, 1)} END,
               NULL, '{{"status": "published"}}', NULL
        FROM (SELECT i, (ARRAY['challenge','challenge','bid','bid','bid','project'])
                        [1 + {_rand("i", 44)} % 6] AS kind
              FROM generate_series(1, {n_audit}) AS i) AS s
        """,
    )
    step(
        "notification",
        f"""
        INSERT INTO notification (id, user_id, kind, object_type, object_id, message, created_at,
                                  read_at)
        SELECT i, CASE WHEN i % 10 = 0 THEN 1 WHEN i % 10 = 1 THEN 2
                       ELSE 1 + {_rand("i", 50)} % {n_users} END,
               'challenge_published', 'challenge', 1 + i % {n_chal},
               '榜单“' || {pick(subj, "i")} || '技术攻关”已通过审核并发布',
               {t0} + make_interval(mins => (i::bigint * 700 * 1440 / {n_notif})::int),
               CASE WHEN i % 3 = 0 THEN NULL
                    ELSE {t0} + make_interval(mins => (i::bigint * 700 * 1440 / {n_notif})::int)
               END
        FROM generate_series(1, {n_notif}) AS i
        """,
    )
    log("seeding capabilities and results")
    research_org = f"(2 + {n_ent} + {_rand('i', 60)} % {n_uni + n_inst})"
    body = (
        f"'面向' || {pick(subj, _rand('i', 61))} || '领域，长期开展' || {pick(how, _rand('i', 62))}"
        f" || '研究，可帮助企业' || {pick(want, _rand('i', 63))} || '，在'"
        f" || {pick(subj, _rand('i', 64))} || '方面有成熟经验。'"
    )
    step(
        "capability",
        f"""
        INSERT INTO capability (id, organization_id, created_by_id, title, description, tags,
                                created_at, updated_at)
        SELECT i, {research_org}, {research_org}, {pick(subj, _rand("i", 65))} || '研究团队',
               {body}, '[]', {t0}, {t0}
        FROM generate_series(1, {int(10_000 * scale)}) AS i
        """,
    )
    step(
        "result",
        f"""
        INSERT INTO result (id, organization_id, created_by_id, title, description, tags,
                            maturity, transfer_mode, patents, created_at, updated_at)
        SELECT i, {research_org}, {research_org}, {pick(subj, _rand("i", 66))} || '关键技术',
               {body}, '[]', 'pilot', 'licence', '[]', {t0}, {t0}
        FROM generate_series(1, {int(10_000 * scale)}) AS i
        """,
    )
    for table in ("organization", "user_account", *TABLES):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )


def admin_engine(url: str):  # type: ignore[no-untyped-def]
    return create_engine(url, isolation_level="AUTOCOMMIT")


@contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    """The benchmark database's URL: created (and dropped afterwards) unless reused."""
    base = make_url(args.postgres_url)
    url = base.set(database=args.database).render_as_string(hide_password=False)
    admin = admin_engine(args.postgres_url)
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": args.database}
        )
        if exists and not args.reuse:
            sys.exit(f"database {args.database} exists: pass --reuse, or drop it")
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{args.database}"'))
            log(f"created database {args.database}")
    try:
        yield url
    finally:
        if not (args.keep or args.reuse):
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{args.database}" WITH (FORCE)'))
            log(f"dropped database {args.database}")
        admin.dispose()


def prepare(url: str, scale: float) -> dict[str, int]:
    """Migrate, seed when empty, VACUUM ANALYZE; the ids the routes' placeholders need."""
    from app.db import migrate
    from app.security import hash_password

    started = time.monotonic()
    migrate(url)
    log(f"migrated in {time.monotonic() - started:.1f} s")
    engine = create_engine(url)
    with engine.connect() as conn:
        seeded = conn.scalar(text("SELECT count(*) FROM organization"))
    if not seeded:
        started = time.monotonic()
        with engine.begin() as conn:
            seed(conn, scale, hash_password(PASSWORD))
        log(f"seeded in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    log(f"VACUUM ANALYZE in {time.monotonic() - started:.1f} s")
    with engine.connect() as conn:
        ids = {
            # The enterprise signed in owns this challenge (its bids are visible to it).
            "challenge_id": conn.scalar(
                text("SELECT max(id) FROM challenge WHERE organization_id = 2")
            ),
            "object_id": conn.scalar(
                text("SELECT object_id FROM audit_event WHERE object_type = 'challenge' LIMIT 1")
            ),
            "actor_id": conn.scalar(
                text(
                    "SELECT actor_id FROM audit_event WHERE actor_id > 1"
                    " GROUP BY actor_id ORDER BY count(*) DESC LIMIT 1"
                )
            ),
        }
        counts = {
            t: conn.scalar(text(f"SELECT count(*) FROM {t}"))
            for t in (
                "challenge",
                "bid",
                "project",
                "project_milestone",
                "disbursement",
                "audit_event",
                "notification",
                "capability",
                "result",
            )
        }
    engine.dispose()
    log("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    return {k: int(v) for k, v in ids.items() if v is not None}


@contextmanager
def server(url: str, workers: int) -> Iterator[str]:
    """uvicorn serving app.main:app on this database, as `make run` does."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        DATABASE_URL=url,
        RATE_LIMITS="off",
        MATCH_WARMUP="false",
        SECRET_KEY="bench-volume-secret-key-0123456789abcdef",
    )
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--loop", "uvloop", "--http", "httptools"]
    command += ["--workers", str(workers), "--no-access-log"]
    with tempfile.NamedTemporaryFile(prefix="bench-volume-", suffix=".log") as err:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    sys.exit("server exited:\n" + Path(err.name).read_text()[-3000:])
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    sys.exit("server did not start:\n" + Path(err.name).read_text()[-3000:])
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def time_route(
    client: httpx.Client, name: str, who: str, path: str, token: str | None, n: int
) -> Figures:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for _ in range(2):  # warm-up: plans cached, pages in memory
        client.get(API + path, headers=headers)
    times = []
    status, total = 0, None
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(API + path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    if status == 200 and response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        total = body.get("total") if isinstance(body, dict) else None
    return Figures(
        name,
        who,
        path,
        status,
        total,
        n,
        round(percentile(times, 0.5), 1),
        round(percentile(times, 0.95), 1),
        round(percentile(times, 0.99), 1),
        round(max(times), 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="an admin URL")
    parser.add_argument("--database", default=BENCH_DATABASE, help="the benchmark's database")
    parser.add_argument("--reuse", action="store_true", help="use an existing database, keep it")
    parser.add_argument("--keep", action="store_true", help="do not drop the database afterwards")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count")
    parser.add_argument("-n", "--requests", type=int, default=50, help="requests per route")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    parser.add_argument("--only", default="", help="time only routes whose name contains this")
    parser.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="NAME=WHO:PATH",
        help="an extra route, e.g. 'summary=bureau:/stats/summary?year=2026'",
    )
    parser.add_argument("--seed-only", action="store_true", help="seed and stop")
    args = parser.parse_args()

    routes = list(ROUTES) + list(STATS_ROUTES)
    for extra in args.route:
        name, _, rest = extra.partition("=")
        who, _, path = rest.partition(":")
        routes.append((name, who, path))
    if args.only:
        routes = [r for r in routes if args.only in r[0]]

    with database(args) as url:
        ids = prepare(url, args.scale)
        if args.seed_only:
            return
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        log(f"commit {commit}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        with server(url, args.workers) as base, httpx.Client(base_url=base, timeout=60) as client:
            tokens: dict[str, str | None] = {"anonymous": None}
            for who, username in (("bureau", "u1"), ("enterprise", "u2")):
                response = client.post(
                    API + "/auth/token", data={"username": username, "password": PASSWORD}
                )
                response.raise_for_status()
                tokens[who] = response.json()["access_token"]
            results = []
            for name, who, path in routes:
                figures = time_route(
                    client, name, who, path.format(**ids), tokens[who], args.requests
                )
                results.append(figures)
                print(json.dumps(figures.__dict__, ensure_ascii=False), flush=True)
        load = os.getloadavg()[0]
    print()
    print(f"| route | as | total | p50 ms | p95 ms | p99 ms | (load {load:.1f}, {commit}) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for f in results:
        flag = "" if f.status == 200 else f" **{f.status}**"
        print(f"| {f.name} | {f.who} | {f.total} | {f.p50} | {f.p95} | {f.p99} |{flag} |")
    print(f"\n{platform.python_version()}, n={args.requests} per route", file=sys.stderr)


if __name__ == "__main__":
    main()
