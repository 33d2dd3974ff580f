"""Matching's database side at volume, on a PostgreSQL database seeded by bench_volume.py.

    python scripts/bench_volume.py --database bench_match --seed-only --keep   # once
    python scripts/bench_match_writes.py --database bench_match rebuild         # cold rebuild
    python scripts/bench_match_writes.py --database bench_match writes          # scaling
    python scripts/bench_match_writes.py --database bench_match rebuild-under-writes
    python scripts/bench_match_writes.py --database bench_match rss

- ``rebuild``: ``python -m app.bootstrap --rebuild-index`` with every stored fingerprint
  cleared first (so every row is written again), or with ``--cold`` every document deleted
  first (so every row is inserted); wall time and the peak RSS of the command
  with its segmenting workers (summed over the process tree, sampled every 0.2 s).
- ``writes``: uvicorn with 1 then 2 workers; ``--clients`` threads each create draft
  challenges (matchable: segmented, numbered), then each bids on open published challenges
  (not matchable), for ``--seconds`` each, one after the other: req/s and statuses.
- ``rebuild-under-writes``: uvicorn with 2 workers, its match index loaded; fingerprints
  cleared; ``POST /matching/rebuild`` while ``--clients`` threads create and edit challenges
  until it answers; then every written challenge's stored tokens are checked against its
  text, and the first match request's time (the process catching up) is taken.
- ``rss``: uvicorn with 1 worker: the time of the first match request (the index loads) and
  the worker's RSS after it.

Loopback only; every loop is bounded by time and count. One JSON object per phase on stdout,
progress on stderr, each with the load averages before and after.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from scripts.bench_volume import API, DEFAULT_POSTGRES_URL, PASSWORD, server  # noqa: E402

MAX_REQUESTS = 20_000  # per client and phase, whatever the duration
ENTERPRISES = range(3, 100)  # seeded enterprise users u3..u99 (u50 is unverified: skipped)
UNIVERSITIES = range(2002, 2601)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def tree_rss(pid: int) -> int:
    """Resident bytes of the process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


@contextmanager
def peak_rss(pid: int) -> Iterator[dict[str, int]]:
    """Samples the tree's RSS every 0.2 s while the block runs: {"peak": bytes}."""
    result = {"peak": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            result["peak"] = max(result["peak"], tree_rss(pid))
            stop.wait(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()


def clear_fingerprints(url: str) -> int:
    """As if every row were stored before fingerprints: the next rebuild writes them all."""
    engine = create_engine(url)
    with engine.begin() as conn:
        count = conn.execute(text("UPDATE match_document SET fingerprint = NULL")).rowcount
    engine.dispose()
    return count


def sign_in(client: httpx.Client, user: str) -> dict[str, str]:
    response = client.post(API + "/auth/token", data={"username": user, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def challenge_body(word: str) -> dict[str, Any]:
    return {
        "title": f"热解氮化硼坩埚 {word}",
        "description": f"大尺寸晶体生长用坩埚分层开裂，需要化学气相沉积工艺优化 {word}。" * 3,
        "indicators": [{"name": "纯度", "target": "≥99.99", "unit": "%"}],
        "sector": "industry",
        "budget": "100",
        "deadline": "2099-12-31T17:00:00+08:00",
        "region": "211302",
        "tags": ["热解氮化硼"],
    }


@contextmanager
def lock_waits(url: str) -> Iterator[Counter[str]]:
    """Samples pg_stat_activity every 50 ms while the block runs: how many backends were
    active, and how many waited for a lock, by the statement they waited in."""
    seen: Counter[str] = Counter()
    stop = threading.Event()
    engine = create_engine(url)

    def sample() -> None:
        with engine.connect() as conn:
            while not stop.is_set():
                rows = conn.execute(
                    text(
                        "SELECT wait_event_type, left(query, 40) AS query FROM pg_stat_activity"
                        " WHERE datname = current_database() AND state = 'active'"
                        " AND pid <> pg_backend_pid()"
                    )
                ).all()
                seen["samples"] += 1
                for row in rows:
                    seen["active"] += 1
                    if row.wait_event_type == "Lock":
                        seen[f"lock wait: {row.query}"] += 1
                conn.rollback()
                stop.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()
        engine.dispose()


def hammer(
    base: str, tokens: list[dict[str, str]], seconds: float, request: Callable[..., Any]
) -> dict[str, Any]:
    """Each token's client calls `request(client, token, client_index, n)` until time is up."""
    statuses: Counter[int] = Counter()
    done = [0] * len(tokens)
    lock = threading.Lock()
    barrier = threading.Barrier(len(tokens))

    def run(i: int) -> None:
        with httpx.Client(base_url=base + API, timeout=60) as client:
            barrier.wait(timeout=60)
            stop = time.monotonic() + seconds
            n = 0
            while time.monotonic() < stop and n < MAX_REQUESTS:
                status = request(client, tokens[i], i, n)
                n += 1
                with lock:
                    statuses[status] += 1
            done[i] = n

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {
        "requests": sum(done),
        "seconds": round(elapsed, 1),
        "req_s": round(sum(done) / elapsed, 1),
        "statuses": dict(statuses),
    }


def open_challenges(url: str, count: int) -> list[int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = conn.scalars(
            text(
                "SELECT id FROM challenge WHERE status = 'published' AND deadline > now()"
                " ORDER BY id DESC LIMIT :n"
            ),
            {"n": count},
        ).all()
    engine.dispose()
    return list(ids)


def phase_writes(url: str, args: argparse.Namespace) -> None:
    targets = open_challenges(url, 5_000)
    log(f"{len(targets)} open published challenges to bid on")
    bid_round = 0
    for workers in (1, 2):
        before = load()
        with server(url, workers) as base, httpx.Client(base_url=base, timeout=60) as client:
            owners = [sign_in(client, f"u{u}") for u in ENTERPRISES if u % 50][: args.clients]
            # Universities that have not bid in an earlier run (most likely): fresh pairs.
            pool = [u for u in UNIVERSITIES if u % 50]
            picked = random.Random(time.time_ns()).sample(pool, args.clients)
            bidders = [sign_in(client, f"u{u}") for u in picked]
            log(f"{workers} worker(s): challenge creates, {args.clients} clients")

            def create(
                c: httpx.Client, token: dict[str, str], i: int, n: int, workers: int = workers
            ) -> int:
                body = challenge_body(f"w{workers}c{i}n{n}")
                return c.post("/challenges", json=body, headers=token).status_code

            with lock_waits(url) as waits:
                creates = hammer(base, owners, args.seconds, create)
            creates["pg_activity_samples"] = dict(waits)
            log(f"  {creates}")
            offset = bid_round * len(targets) // 2

            def bid(
                c: httpx.Client, token: dict[str, str], i: int, n: int, offset: int = offset
            ) -> int:
                challenge_id = targets[(offset + n * args.clients + i) % len(targets)]
                body = {
                    "approach": "化学气相沉积",
                    "team": "王教授团队",
                    "budget": "80",
                    "duration_months": 12,
                    "indicators": [{"name": "成品率", "promised": "≥96"}],
                }
                path = f"/challenges/{challenge_id}/bids"
                return c.post(path, json=body, headers=token).status_code

            log(f"{workers} worker(s): bids, {args.clients} clients")
            with lock_waits(url) as waits:
                bids = hammer(base, bidders, args.seconds, bid)
            bids["pg_activity_samples"] = dict(waits)
            bid_round += 1
            log(f"  {bids}")
        print(
            json.dumps(
                {
                    "phase": "writes",
                    "workers": workers,
                    "clients": args.clients,
                    "challenge_creates": creates,
                    "bids": bids,
                    "load_before": before,
                    "load_after": load(),
                }
            ),
            flush=True,
        )


def phase_rebuild(url: str, args: argparse.Namespace) -> None:
    if args.cold:  # no documents at all: the rebuild inserts every one
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM match_document"))
        engine.dispose()
    cleared = clear_fingerprints(url)
    before = load()
    env = dict(os.environ, DATABASE_URL=url, DEMO="0", LOG_LEVEL="INFO")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.bootstrap", "--rebuild-index"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    with peak_rss(proc.pid) as rss:
        _, err = proc.communicate()
    elapsed = time.monotonic() - started
    if proc.returncode:
        sys.exit(err[-3000:])
    lines = [line for line in err.splitlines() if "rebuilt" in line]
    print(
        json.dumps(
            {
                "phase": "rebuild",
                "command": "python -m app.bootstrap --rebuild-index",
                "cold": args.cold,
                "rows_with_fingerprint_cleared": cleared,
                "seconds": round(elapsed, 1),
                "peak_rss_mb": rss["peak"] // 2**20,
                "log": lines[-1:],
                "load_before": before,
                "load_after": load(),
            }
        ),
        flush=True,
    )


def worker_pids(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def first_match(client: httpx.Client, token: dict[str, str]) -> tuple[float, int]:
    started = time.monotonic()
    response = client.get(API + "/challenges/2/matches?target=capabilities", headers=token)
    return time.monotonic() - started, response.status_code


def phase_rss(url: str, args: argparse.Namespace) -> None:
    before = load()
    with server(url, 1) as base, httpx.Client(base_url=base, timeout=600) as client:
        bureau = sign_in(client, "u1")
        pid = server_pid(base)
        seconds, status = first_match(client, bureau)
        again, _ = first_match(client, bureau)
        rss = tree_rss(pid)
    print(
        json.dumps(
            {
                "phase": "rss",
                "first_match_s": round(seconds, 1),
                "status": status,
                "next_match_s": round(again, 3),
                "worker_rss_mb": rss // 2**20,
                "documents": count_documents(url),
                "load_before": before,
                "load_after": load(),
            }
        ),
        flush=True,
    )


def server_pid(base: str) -> int:
    """The uvicorn process listening on the base URL's port (one worker: the server itself)."""
    port = base.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True)
    return int(out.stdout.split("pid=")[1].split(",")[0])


def count_documents(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.scalar(text("SELECT count(*) FROM match_document WHERE fingerprint <> ''"))
    engine.dispose()
    return int(count or 0)


def phase_rebuild_under_writes(url: str, args: argparse.Namespace) -> None:
    before = load()
    with server(url, 2) as base, httpx.Client(base_url=base, timeout=900) as client:
        bureau = sign_in(client, "u1")
        owners = [sign_in(client, f"u{u}") for u in ENTERPRISES if u % 50][: args.clients]
        for _ in range(4):  # both workers load their index (each request lands on one)
            log(f"warm-up match: {first_match(client, bureau)}")
        clear_fingerprints(url)
        rebuilt = threading.Event()
        written: dict[int, str] = {}
        statuses: Counter[str] = Counter()
        lock = threading.Lock()

        def write(i: int) -> None:
            with httpx.Client(base_url=base + API, timeout=120) as c:
                n = 0
                mine: list[int] = []
                while not rebuilt.is_set() and n < MAX_REQUESTS:
                    word = f"r{i}n{n}"
                    if n % 2 == 0 or not mine:
                        r = c.post("/challenges", json=challenge_body(word), headers=owners[i])
                        kind = "create"
                        if r.status_code == 201:
                            mine.append(r.json()["id"])
                            with lock:
                                written[mine[-1]] = word
                    else:
                        target = mine[n % len(mine)]
                        body = {"title": f"精密轴承磨削 {word}"}
                        r = c.patch(f"/challenges/{target}", json=body, headers=owners[i])
                        kind = "edit"
                        if r.status_code == 200:
                            with lock:
                                written[target] = word
                    with lock:
                        statuses[f"{kind} {r.status_code}"] += 1
                    n += 1

        threads = [threading.Thread(target=write, args=(i,)) for i in range(len(owners))]
        pid = server_pid(base)
        with peak_rss(pid) as rss:
            for thread in threads:
                thread.start()
            started = time.monotonic()
            response = client.post(API + "/matching/rebuild", headers=bureau)
            elapsed = time.monotonic() - started
            rebuilt.set()
            for thread in threads:
                thread.join()
        log(f"rebuild answered {response.status_code} in {elapsed:.1f} s: {dict(statuses)}")
        catch_up = [first_match(client, bureau) for _ in range(4)]
        stale = stale_documents(url, written)
    print(
        json.dumps(
            {
                "phase": "rebuild-under-writes",
                "rebuild_status": response.status_code,
                "rebuild_answer": response.json() if response.content else None,
                "rebuild_seconds": round(elapsed, 1),
                "server_peak_rss_mb": rss["peak"] // 2**20,
                "writes": dict(statuses),
                "objects_written": len(written),
                "stale_or_missing_documents": stale,
                "match_after_rebuild_s": [round(s, 2) for s, _ in catch_up],
                "load_before": before,
                "load_after": load(),
            }
        ),
        flush=True,
    )


def stale_documents(url: str, written: dict[int, str]) -> list[int]:
    """The written challenges whose stored tokens are not those of their current text."""
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.models import Challenge, MatchDocument
    from app.services import match_sync

    engine = make_engine(url)
    stale = []
    with Session(engine) as session:
        tokenizer = match_sync.tokenizer_for(match_sync.term_pairs(session))
        for challenge_id, word in written.items():
            challenge = session.get_one(Challenge, challenge_id)
            document = session.scalars(
                select(MatchDocument).where(
                    MatchDocument.kind == "challenge", MatchDocument.object_id == challenge_id
                )
            ).one_or_none()
            fields = match_sync.document_fields(challenge)
            expected = match_sync.analyze(fields, tokenizer)
            if (
                document is None
                or document.tokens != expected
                or word.lower() not in str(document.tokens)
            ):
                stale.append(challenge_id)
    engine.dispose()
    return stale


PHASES = {
    "rebuild": phase_rebuild,
    "writes": phase_writes,
    "rebuild-under-writes": phase_rebuild_under_writes,
    "rss": phase_rss,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phase", choices=list(PHASES))
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="an admin URL")
    parser.add_argument("--database", default="bench_match", help="a seeded database")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20, help="per write phase")
    parser.add_argument("--cold", action="store_true", help="rebuild: delete documents first")
    args = parser.parse_args()
    url = make_url(args.postgres_url).set(database=args.database).render_as_string(False)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    log(f"commit {commit}, {os.cpu_count()} CPUs, load {load()}")
    from app.db import migrate

    migrate(url)
    PHASES[args.phase](url, args)


if __name__ == "__main__":
    main()
