"""Search latency as the delta segment grows towards the merge threshold.

    .venv/bin/python scripts/bench_delta.py [--size 100000] [--deltas 0,200,1000,1999]

Builds the benchmark's synthetic corpus (``app.matching.bench``), then for each delta size
upserts documents until the delta holds that many (no merge runs: the threshold is 2,000),
timing each upsert (tokens given; the delta's tail merges included), and times 200 top-10
searches after 20 untimed ones. Prints one JSON line per delta size; progress goes to
stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.matching import kernels  # noqa: E402
from app.matching.bench import Corpus  # noqa: E402
from app.matching.index import MatchIndex  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench_delta.py", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000, help="documents in the base")
    parser.add_argument("--deltas", default="0,200,1000,1999", help="delta sizes to time")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    corpus = Corpus(vocabulary_size=max(20_000, min(args.size, 200_000)), seed=7)
    index = MatchIndex()
    print(f"building {args.size} documents", file=sys.stderr, flush=True)
    index.bulk_load(corpus.documents(args.size))
    kernels.warm_up()
    gc.collect()
    gc.freeze()
    queries = [corpus.query() for _ in range(args.queries)]
    added = 0
    for target in (int(d) for d in args.deltas.split(",") if d):
        upserts = []
        while added < target:
            doc = corpus.document(200)
            started = time.perf_counter()
            index.upsert(f"new{added}", doc, {})
            upserts.append((time.perf_counter() - started) * 1000)
            added += 1
        for query in queries[:20]:
            index.search(query, limit=10)
        latencies = []
        for query in queries:
            started = time.perf_counter()
            index.search(query, limit=10)
            latencies.append((time.perf_counter() - started) * 1000)
        p50, p99 = np.percentile(latencies, [50, 99])
        line: dict[str, object] = {
            "base": args.size,
            "delta": added,
            "search_ms": {"p50": round(p50, 3), "p99": round(p99, 3)},
        }
        if upserts:  # the upserts that grew the delta to this size (tail merges included)
            u50, u99 = np.percentile(upserts, [50, 99])
            line["upsert_ms"] = {
                "count": len(upserts),
                "p50": round(u50, 3),
                "p99": round(u99, 3),
                "max": round(max(upserts), 3),
            }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
