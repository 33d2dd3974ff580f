"""Speed of the index on synthetic Chinese corpora, against bm25s on the same corpus.

    python -m app.matching.bench [--sizes 10000,100000,1000000] [--queries 200] [--rounds 3]

Documents are ~200 tokens drawn from a Zipf vocabulary of 2-4 character Chinese words
(plus a description and a few tags); queries are ~150-token texts drawn the same way, like
a challenge description. Per size it prints one JSON line: build seconds, index memory,
top-10 latency p50/p99 through MatchIndex.search, one-document upsert latency (tokens
given, no segmentation), and bm25s's retrieve latency on the same tokens. Progress goes to
stderr.

Searches use the index's default ``threads`` (2 on a machine with two cores: a helper
thread takes half of each search's postings and rescoring, see helper.py); the plain series
is also timed with one thread (``search_1_thread_ms``), in turn with the default in each
round. bm25s runs its sequential path (``n_threads=0``: its threads split a batch of queries,
and one query is one job; ``n_threads=1`` would only add a thread pool per call).

Both the index and bm25s first answer 20 queries untimed (the service warms up at start),
then the query set ``--rounds`` times; the plain search and bm25s percentiles are over all
those samples (600 by default: a p99 over 200 is the second-worst call, which one burst of
noise on a shared machine decides). The filtered and after-upsert series run once.

Long queries read only part of their postings to find candidates (see query.py); the line
also gives ``top10_agreement_with_exhaustive``: the share of the top 10 that equals the top
10 found when every posting is read, over 50 queries.

After building, the benchmark freezes the heap it has built (``gc.freeze()``, as a service
would after loading): otherwise CPython's full collections walk the benchmark's own million
Python objects (the generated corpus) during the timed calls. ``--no-gc-freeze`` measures
without it. The machine's load average is recorded before and after each size.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import resource
import sys
import time
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from app.matching import kernels
from app.matching.features import DocTokens
from app.matching.index import MatchIndex

HAN_START, HAN_SIZE = 0x4E00, 3000  # common-character block, enough for realistic bigrams


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    lengths = rng.choice([2, 2, 2, 3, 3, 4], size=size)
    chars = rng.integers(HAN_START, HAN_START + HAN_SIZE, size=(size, 4))
    words = {"".join(chr(c) for c in row[:n]) for row, n in zip(chars, lengths, strict=True)}
    return sorted(words)


class Corpus:
    """Zipf-distributed token streams over a fixed synthetic vocabulary."""

    def __init__(self, vocabulary_size: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.words = make_vocabulary(vocabulary_size, self.rng)
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        weights = 1.0 / ranks**1.07
        self.cdf = np.cumsum(weights / weights.sum())

    def _draw(self, n: int) -> npt.NDArray[np.int64]:
        return np.searchsorted(self.cdf, self.rng.random(n)).clip(0, len(self.words) - 1)

    def document(self, length: int) -> DocTokens:
        words = self.words
        ids = self._draw(length + 12).tolist()
        return {
            "title": [words[i] for i in ids[:8]],
            "description": [words[i] for i in ids[8 : length + 8]],
            "tags": [words[i] for i in ids[length + 8 :]],
        }

    def documents(self, n: int) -> Iterator[tuple[str, DocTokens, dict[str, object]]]:
        lengths = self.rng.normal(200, 60, size=n).clip(40, 600).astype(int)
        for i in range(n):
            yield f"d{i}", self.document(int(lengths[i])), {"org": i % 500}

    def query(self, length: int = 150) -> DocTokens:
        return {"description": [self.words[i] for i in self._draw(length).tolist()]}


def _percentiles(samples: list[float]) -> dict[str, float]:
    values = np.array(samples) * 1000
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p99": round(float(np.percentile(values, 99)), 3),
    }


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_size(
    size: int,
    n_queries: int,
    *,
    with_bm25s: bool,
    rounds: int = 3,
    freeze: bool = True,
    compact_max: int = 200_000,
    seed: int = 7,
) -> dict[str, object]:
    load_before = os.getloadavg()
    corpus = Corpus(vocabulary_size=max(20_000, min(size, 200_000)), seed=seed)
    gc.collect()
    rss_before = _rss_mb()
    index = MatchIndex()
    started = time.perf_counter()
    docs = list(corpus.documents(size))
    generate_seconds = time.perf_counter() - started
    _progress(f"[{size}] generated corpus in {generate_seconds:.1f} s; building index")
    started = time.perf_counter()
    index.bulk_load(docs)
    build_seconds = time.perf_counter() - started
    _progress(f"[{size}] built in {build_seconds:.1f} s; querying")
    queries = [corpus.query() for _ in range(n_queries)]
    kernels.warm_up()  # as the service does at start-up
    if freeze:
        gc.collect()
        gc.freeze()
    for query in queries[:20]:  # untimed: the first calls after a build
        index.search(query, limit=10)
    threads = index.threads
    latencies: dict[int, list[float]] = {threads: [], 1: []}
    for _ in range(rounds):  # the default and one thread, in turn, so both meet the same spells
        for count, samples in latencies.items():
            index.threads = count
            for query in queries:
                started = time.perf_counter()
                index.search(query, limit=10)
                samples.append(time.perf_counter() - started)
    index.threads = threads
    filtered = []
    for query in queries[: n_queries // 2]:
        started = time.perf_counter()
        index.search(query, limit=10, where=lambda meta: meta["org"] != 0)
        filtered.append(time.perf_counter() - started)
    upserts = []
    for i in range(200):
        doc = corpus.document(200)
        started = time.perf_counter()
        index.upsert(f"new{i}", doc, {"org": 1})
        upserts.append(time.perf_counter() - started)
    after_writes = []
    for query in queries[: n_queries // 2]:
        started = time.perf_counter()
        index.search(query, limit=10)
        after_writes.append(time.perf_counter() - started)
    compact_seconds: float | None = None
    if size <= compact_max:
        started = time.perf_counter()
        index.compact()
        compact_seconds = round(time.perf_counter() - started, 2)
    default = index.config
    found = [[m.key for m in index.search(q, limit=10)] for q in queries[:50]]
    index.config = dataclasses.replace(default, postings_budget=1 << 62)
    exhaustive = [[m.key for m in index.search(q, limit=10)] for q in queries[:50]]
    index.config = default
    agreement = np.mean(
        [len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(found, exhaustive, strict=True)]
    )
    result: dict[str, object] = {
        "documents": size,
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "gc_frozen": freeze,
        "rounds": rounds,
        "top10_agreement_with_exhaustive": round(float(agreement), 3),
        "build_seconds": round(build_seconds, 2),
        "index_mb": round(index.nbytes() / 1e6, 1),
        "process_rss_growth_mb": round(_rss_mb() - rss_before, 1),
        "threads": threads,
        "search_ms": _percentiles(latencies[threads]),
        "search_1_thread_ms": _percentiles(latencies[1]),
        "search_ms_by_round": [  # the first round starts right after the build
            _percentiles(latencies[threads][i * len(queries) : (i + 1) * len(queries)])
            for i in range(rounds)
        ],
        "search_filtered_ms": _percentiles(filtered),
        "search_after_200_upserts_ms": _percentiles(after_writes),
        "upsert_ms": _percentiles(upserts),
        "compact_seconds": compact_seconds,
    }
    if with_bm25s:
        result["bm25s"] = _bench_bm25s(docs, queries, rounds)
    if freeze:
        gc.unfreeze()
    return result


def _bench_bm25s(
    docs: list[tuple[str, DocTokens, dict[str, object]]], queries: list[DocTokens], rounds: int
) -> dict[str, object]:
    import bm25s

    _progress("bm25s: indexing the same tokens")
    texts = [[t for tokens in doc.values() for t in tokens] for _, doc, _ in docs]
    started = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(texts, show_progress=False)
    build_seconds = time.perf_counter() - started
    for query in queries[:20]:  # untimed, as for the index
        retriever.retrieve([query["description"]], k=10, show_progress=False, n_threads=0)
    latencies = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            retriever.retrieve([query["description"]], k=10, show_progress=False, n_threads=0)
            latencies.append(time.perf_counter() - started)
    return {
        "version": bm25s.__version__,
        "build_seconds": round(build_seconds, 2),
        "retrieve_ms": _percentiles(latencies),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.matching.bench")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times the plain search series (and bm25s) runs over the queries; "
        "percentiles are over all rounds' samples",
    )
    parser.add_argument("--no-bm25s", action="store_true")
    parser.add_argument("--no-gc-freeze", action="store_true")
    parser.add_argument(
        "--compact-max",
        type=int,
        default=200_000,
        help="time a synchronous compact() only up to this size (it holds two bases in memory)",
    )
    args = parser.parse_args(argv)
    for size in (int(s) for s in args.sizes.split(",") if s):
        result = bench_size(
            size,
            args.queries,
            with_bm25s=not args.no_bm25s,
            rounds=args.rounds,
            freeze=not args.no_gc_freeze,
            compact_max=args.compact_max,
        )
        print(json.dumps(result), flush=True)
        gc.collect()


if __name__ == "__main__":
    main()
