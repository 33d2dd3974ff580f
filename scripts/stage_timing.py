"""Where a search's time goes, with one thread and with two, in the same minutes.

    .venv/bin/python scripts/stage_timing.py [--size 100000] [--queries 200] [--rounds 3]

Builds the benchmark's synthetic corpus (``app.matching.bench``), freezes the heap, runs 20
untimed searches, then per round the query set once with one thread and once with two
(``MatchIndex.threads``), timing each search and its stages: building the query, finding
candidates in the base (postings and top-k), rescoring them, and the explanations. The
stages are timed by wrapping the functions the index calls (a few microseconds of
overhead each). Prints one JSON line per thread count: stage -> [p50, p99] in ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import app.matching.index as index_module  # noqa: E402
from app.matching import kernels  # noqa: E402
from app.matching.bench import Corpus  # noqa: E402
from app.matching.index import MatchIndex  # noqa: E402

STAGES = ("build_query", "base_candidates", "rescore_base", "explain")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scripts/stage_timing.py", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000, help="documents in the index")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    corpus = Corpus(vocabulary_size=max(20_000, min(args.size, 200_000)), seed=7)
    index = MatchIndex()
    print(f"building {args.size} documents", file=sys.stderr, flush=True)
    index.bulk_load(corpus.documents(args.size))
    queries = [corpus.query() for _ in range(args.queries)]
    kernels.warm_up()
    gc.collect()
    gc.freeze()
    timings: dict[str, list[float]] = {}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timings.setdefault(name, []).append(time.perf_counter() - started)

        return wrapper

    originals = {name: getattr(index_module, name) for name in STAGES}
    for name, function in originals.items():
        setattr(index_module, name, timed(name, function))
    results: dict[int, dict[str, list[float]]] = {1: {}, 2: {}}
    try:
        for query in queries[:20]:
            index.search(query, limit=10)
        for round_number in range(args.rounds):
            print(f"round {round_number + 1} of {args.rounds}", file=sys.stderr, flush=True)
            for threads, collected in results.items():
                index.threads = threads
                timings.clear()
                timings["total"] = []
                for query in queries:
                    started = time.perf_counter()
                    index.search(query, limit=10)
                    timings["total"].append(time.perf_counter() - started)
                for name, values in timings.items():
                    collected.setdefault(name, []).extend(values)
    finally:
        for name, function in originals.items():
            setattr(index_module, name, function)
        gc.unfreeze()
    for threads, collected in results.items():
        summary = {
            name: [round(float(np.percentile(values, q)) * 1000, 3) for q in (50, 99)]
            for name, values in collected.items()
        }
        print(json.dumps({"documents": args.size, "threads": threads, "ms": summary}), flush=True)


if __name__ == "__main__":
    main()
