"""What parallel match previews cost everyone else: other users' match reads, meanwhile.

Starts a real uvicorn server (one process) on a temporary SQLite database filled with verified
organisations and published challenges, capabilities and results of generated technical
Chinese text, then measures, from one client that reads one match after another:

1. ``idle``: match reads alone;
2. ``previews``: the same reads while ``--previews`` clients (different users, verified) each
   send ``--waves`` previews of ``--chars`` characters with ``limit=--limit``, all at once.

Two kinds of read alternate: a challenge's matching organisations (the capability and result
indexes, which an organisations preview searches too) and a capability's matching challenges
(the challenge index, which the preview does not touch). Prints the read latencies of each
phase, the previews' answers (status counts, latency) and the wall time of the burst.

    python scripts/bench_preview.py                       # this checkout, its defaults
    python scripts/bench_preview.py --root /tmp/base      # another checkout (e.g. before)
    python scripts/bench_preview.py --server-env PREVIEW_CONCURRENCY=2

The database is seeded with this checkout's models (same schema as the one served); tokens
are signed here with the server's ``SECRET_KEY``; the server runs with ``RATE_LIMITS=off``
(the per-user preview count is not what is measured), ``DEMO=0``, and waits for the match
index to load before the phases start. Progress goes to stderr, figures to stdout.
"""

import argparse
import itertools
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
os.environ["MATCH_WARMUP"] = "0"  # this process only seeds; the server loads its own index

import httpx2 as httpx  # noqa: E402

from app.config import get_settings  # noqa: E402

GENERIC = (
    "工艺 优化 研究 材料 性能 检测 控制 系统 设备 技术 提高 降低 成本 效率 稳定性 一致性 "
    "寿命 精度 强度 温度 压力 结构 设计 仿真 模型 算法 数据 传感器 测试 评价 方法 装置 "
    "生产线 自动化 智能 节能 环保 工程 应用 产业化 中试 样品 指标 可靠性 表面 涂层 组织"
).split()
VOCABULARY = 6_000
JOINERS = ("的", "与", "和", "及", "，", "。", "中", "下", "对")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _terms() -> list[str]:
    path = ROOT / "app" / "matching" / "data" / "domain_terms.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [t.strip() for t in lines if t.strip() and not t.startswith("#")]


class TextMaker:
    """Deterministic technical-looking Chinese: domain terms, generic words and a Zipf-drawn
    vocabulary of 2-4 character words (so a long text has thousands of distinct terms)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        vocabulary = random.Random(0)  # the same vocabulary for every text
        made = [
            "".join(
                chr(0x4E00 + vocabulary.randrange(3000))
                for _ in range(vocabulary.choice((2, 2, 3, 4)))
            )
            for _ in range(VOCABULARY)
        ]
        self.words = _terms() + GENERIC + made
        self.cumulative = list(
            itertools.accumulate(1 / (rank + 1) for rank in range(len(self.words)))
        )

    def text(self, chars: int) -> str:
        parts: list[str] = []
        size = 0
        while size < chars:
            word = self.rng.choices(self.words, cum_weights=self.cumulative)[0] + self.rng.choice(
                JOINERS
            )
            parts.append(word)
            size += len(word)
        return "".join(parts)[:chars]

    def title(self) -> str:
        return "".join(self.rng.sample(self.words, 3))[:60]


def seed(
    url: str, *, challenges: int, capabilities: int, results: int, users: int
) -> dict[str, list[int]]:
    """Verified organisations and their documents; returns user, challenge, capability ids."""
    from sqlalchemy.orm import Session

    from app.db import make_engine, migrate, utcnow
    from app.models import (
        Capability,
        Challenge,
        ChallengeStatus,
        Maturity,
        Organization,
        OrganizationKind,
        OrganizationStatus,
        Result,
        Role,
        Sector,
        TransferMode,
        User,
    )
    from app.security import hash_password

    migrate(url)
    maker = TextMaker(7)
    engine = make_engine(url)
    password = hash_password(secrets.token_urlsafe(16))
    with Session(engine) as session, session.begin():
        orgs: dict[OrganizationKind, list[Organization]] = {}
        for kind in (OrganizationKind.enterprise, OrganizationKind.university):
            orgs[kind] = [
                Organization(
                    kind=kind,
                    name=f"{kind.value}-{n}",
                    credit_code=None,
                    region="211302",
                    status=OrganizationStatus.verified,
                )
                for n in range(max(users, 20))
            ]
            session.add_all(orgs[kind])
        people = {
            kind: [
                User(
                    organization=org,
                    username=f"{kind.value}{n}",
                    display_name=f"用户{n}",
                    password_hash=password,
                    role=Role.for_kind(kind),
                )
                for n, org in enumerate(members)
            ]
            for kind, members in orgs.items()
        }
        for members in people.values():
            session.add_all(members)
        session.flush()
        enterprises, universities = (
            people[OrganizationKind.enterprise],
            people[OrganizationKind.university],
        )
        made_challenges = [
            Challenge(
                organization_id=(owner := enterprises[n % len(enterprises)]).organization_id,
                created_by_id=owner.id,
                title=maker.title(),
                description=maker.text(300),
                indicators=[{"name": "纯度", "target": "≥99.9", "unit": "%"}],
                expected_outcome="",
                sector=Sector.industry,
                tags=[],
                budget=Decimal("100.00"),
                deadline=utcnow() + timedelta(days=60),
                region="211302",
                contact="",
                status=ChallengeStatus.published,
                published_at=utcnow(),
            )
            for n in range(challenges)
        ]
        made_capabilities = [
            Capability(
                organization_id=(owner := universities[n % len(universities)]).organization_id,
                created_by_id=owner.id,
                title=maker.title(),
                description=maker.text(300),
                tags=[],
            )
            for n in range(capabilities)
        ]
        made_results = [
            Result(
                organization_id=(owner := universities[n % len(universities)]).organization_id,
                created_by_id=owner.id,
                title=maker.title(),
                description=maker.text(300),
                tags=[],
                maturity=Maturity.pilot,
                transfer_mode=TransferMode.licence,
                patents=[],
            )
            for n in range(results)
        ]
        session.add_all([*made_challenges, *made_capabilities, *made_results])
        session.flush()  # the match documents are written by the flush hook
        ids = {
            "users": [u.id for u in enterprises[:users]],
            "reader": [universities[0].id],
            "challenges": [c.id for c in made_challenges],
            "capabilities": [c.id for c in made_capabilities],
        }
    engine.dispose()
    return ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    root: Path, url: str, extra_env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEMO": "0",
        "MATCH_WARMUP": "1",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMITS": "off",
        **extra_env,
    }
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not answer /healthz within 120 s")


@dataclass
class Reads:
    samples: dict[str, list[float]] = field(
        default_factory=lambda: {"organizations": [], "challenges": []}
    )
    errors: int = 0


def read_loop(
    base: str, token: str, ids: dict[str, list[int]], stop: threading.Event, count: int | None
) -> Reads:
    """One client reading matches one after another until `stop` (or `count` reads)."""
    reads = Reads()
    headers = {"Authorization": f"Bearer {token}"}
    n = 0
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        while not stop.is_set() and (count is None or n < count):
            if n % 2 == 0:
                kind = "organizations"
                path = f"/api/v1/challenges/{ids['challenges'][n % len(ids['challenges'])]}/matches"
            else:
                kind = "challenges"
                capability = ids["capabilities"][n % len(ids["capabilities"])]
                path = f"/api/v1/capabilities/{capability}/matches"
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
            if response.status_code == 200:
                reads.samples[kind].append(elapsed)
            else:
                reads.errors += 1
            n += 1
    return reads


def summary(samples: list[float]) -> dict[str, float | int]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def run(args: argparse.Namespace) -> dict[str, object]:
    get_settings.cache_clear()
    from app.security import create_access_token

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        _progress(
            f"seeding {args.challenges} challenges, {args.capabilities} capabilities, "
            f"{args.results} results"
        )
        ids = seed(
            url,
            challenges=args.challenges,
            capabilities=args.capabilities,
            results=args.results,
            users=args.previews,
        )
        extra = dict(item.split("=", 1) for item in args.server_env)
        proc, base = start_server(args.root.resolve(), url, extra)
        try:
            tokens = [create_access_token(uid) for uid in ids["users"]]
            reader = create_access_token(ids["reader"][0])
            _progress("server up; warming the index")
            with httpx.Client(base_url=base, timeout=300) as client:
                for path in (
                    f"/api/v1/challenges/{ids['challenges'][0]}/matches",
                    f"/api/v1/capabilities/{ids['capabilities'][0]}/matches",
                ):
                    assert client.get(path).status_code == 200
                warm = client.post(
                    "/api/v1/matching/preview?limit=50",
                    json={"text": TextMaker(1).text(args.chars)},
                    headers={"Authorization": f"Bearer {tokens[0]}"},
                )
                assert warm.status_code == 200, warm.text
            never = threading.Event()
            _progress("idle reads")
            idle = read_loop(base, reader, ids, never, args.idle_reads)

            preview_times: list[float] = []
            statuses: dict[int, int] = {}
            lock = threading.Lock()
            barrier = threading.Barrier(args.previews)

            texts = [TextMaker(100 + i).text(args.chars) for i in range(args.previews)]

            def previewer(token: str, text: str) -> None:
                with httpx.Client(base_url=base, timeout=300) as client:
                    barrier.wait()
                    for _ in range(args.waves):
                        started = time.perf_counter()
                        r = client.post(
                            f"/api/v1/matching/preview?limit={args.limit}",
                            json={"text": text, "target": "organizations"},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        with lock:
                            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                            if r.status_code == 200:
                                preview_times.append(time.perf_counter() - started)

            stop = threading.Event()
            result: list[Reads] = []
            reading = threading.Thread(
                target=lambda: result.append(read_loop(base, reader, ids, stop, None))
            )
            workers = [
                threading.Thread(target=previewer, args=(tokens[i], texts[i]))
                for i in range(args.previews)
            ]
            _progress(
                f"{args.previews} clients × {args.waves} previews of {args.chars} characters, "
                "reads meanwhile"
            )
            reading.start()
            time.sleep(0.2)  # the reader is in its loop before the burst starts
            started = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            burst = time.perf_counter() - started
            stop.set()
            reading.join()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    loaded = result[0]
    return {
        "root": str(args.root),
        "server_env": extra,
        "load": {
            "previews": args.previews,
            "waves": args.waves,
            "chars": args.chars,
            "limit": args.limit,
        },
        "documents": {
            "challenges": args.challenges,
            "capabilities": args.capabilities,
            "results": args.results,
        },
        "idle": {kind: summary(s) for kind, s in idle.samples.items()},
        "during_previews": {kind: summary(s) for kind, s in loaded.samples.items()},
        "read_errors": idle.errors + loaded.errors,
        "previews": {
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "ok_latency": summary(preview_times),
            "burst_s": round(burst, 2),
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def markdown(figures: dict[str, object]) -> str:
    lines = [
        f"root `{figures['root']}`, server env {figures['server_env'] or '{}'}; "
        f"load average after: {figures['load_average']}",
        "",
        "| phase | read | n | p50 ms | p95 ms | max ms |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for phase in ("idle", "during_previews"):
        for kind, s in figures[phase].items():  # type: ignore[attr-defined]
            lines.append(
                f"| {phase} | {kind} | {s.get('n', 0)} | {s.get('p50_ms', '-')} | "
                f"{s.get('p95_ms', '-')} | {s.get('max_ms', '-')} |"
            )
    previews = figures["previews"]
    lines += [
        "",
        f"previews: statuses {previews['statuses']}, 200 latency {previews['ok_latency']}, "  # type: ignore[index]
        f"burst {previews['burst_s']} s; read errors {figures['read_errors']}",  # type: ignore[index]
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="checkout to serve (default: this one)"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra server setting (repeatable)",
    )
    parser.add_argument("--challenges", type=int, default=1000)
    parser.add_argument("--capabilities", type=int, default=2000)
    parser.add_argument("--results", type=int, default=1000)
    parser.add_argument("--previews", type=int, default=8, help="parallel preview clients")
    parser.add_argument(
        "--waves", type=int, default=3, help="previews each client sends, one after another"
    )
    parser.add_argument("--chars", type=int, default=20_000, help="characters of each preview")
    parser.add_argument("--limit", type=int, default=50, help="the previews' limit")
    parser.add_argument("--idle-reads", type=int, default=40, help="reads of the idle phase")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    args = parser.parse_args()
    figures = run(args)
    print(
        json.dumps(figures, ensure_ascii=False, indent=2)
        if args.format == "json"
        else markdown(figures)
    )


if __name__ == "__main__":
    main()
