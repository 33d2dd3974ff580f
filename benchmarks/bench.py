"""Speed and memory of the matching engine on synthetic Chinese corpora, against bm25s.

    python -m benchmarks.bench [--sizes 2000,10000,100000] [--queries 200] [--rounds 3]

Documents are ~200 tokens drawn from a Zipf vocabulary of 2-4 character Chinese words
(plus a title and a few tags); queries are ~150-token texts drawn the same way, like a
challenge description. Per size it prints one JSON line: the time to build the index from
stored tokens (``bulk_load`` from a stream of documents, as the service loads it), the
process's RSS after the build (and its peak), the time to generate the same stream alone
(``corpus_seconds``, part of ``build_seconds``), top-10 search latency p50/p99, filtered
searches, one-document upserts (tokens given: no segmentation), searches after them, and
bm25s's retrieve latency on the same tokens in the same process. Progress goes to stderr.

Both the index and bm25s first answer 20 queries untimed, then the query set ``--rounds``
times, in turn, so both meet the same spells of noise; percentiles are over all samples.
bm25s runs its sequential path (``n_threads=0``). ``top10_agreement_with_all_terms`` is the
share of the top 10 that stays the same when every query term scores (no selection of a
long query's most informative terms), over 50 queries. The heap is frozen after the build
(``gc.freeze()``, as the service does after loading). The load average is recorded before
and after each size.
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
from typing import Any

import numpy as np
import numpy.typing as npt

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


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_size(
    size: int, n_queries: int, *, with_bm25s: bool, rounds: int = 3, seed: int = 7
) -> dict[str, object]:
    load_before = os.getloadavg()
    vocabulary_size = max(20_000, min(size, 200_000))
    gc.collect()
    rss_before = _rss_mb()
    index = MatchIndex()
    corpus = Corpus(vocabulary_size, seed)
    started = time.perf_counter()
    index.bulk_load(corpus.documents(size))  # a stream: the corpus is never held in memory
    build_seconds = time.perf_counter() - started
    rss_after_build = _rss_mb()
    started = time.perf_counter()
    for _ in Corpus(vocabulary_size, seed).documents(size):  # the same stream, alone
        pass
    corpus_seconds = time.perf_counter() - started
    _progress(f"[{size}] built in {build_seconds:.1f} s; querying")
    queries = [corpus.query() for _ in range(n_queries)]
    gc.collect()
    gc.freeze()
    retriever = _bm25s_index(Corpus(vocabulary_size, seed), size) if with_bm25s else None
    for query in queries[:20]:  # untimed: the first calls after a build
        index.search(query, limit=10)
        if retriever is not None:
            retriever.retrieve([query["description"]], k=10, show_progress=False, n_threads=0)
    latencies: list[float] = []
    bm25s_latencies: list[float] = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            index.search(query, limit=10)
            latencies.append(time.perf_counter() - started)
        if retriever is not None:
            for query in queries:
                started = time.perf_counter()
                retriever.retrieve([query["description"]], k=10, show_progress=False, n_threads=0)
                bm25s_latencies.append(time.perf_counter() - started)
    filtered = []
    for query in queries[: n_queries // 2]:
        started = time.perf_counter()
        index.search(query, limit=10, where=lambda meta: meta["org"] != 0)
        filtered.append(time.perf_counter() - started)
    upserts = []
    for i in range(200):
        doc = corpus.document(200)
        key = f"d{i * 7}" if i % 2 else f"new{i}"  # half are edits of loaded documents
        started = time.perf_counter()
        index.upsert(key, doc, {"org": 1})
        upserts.append(time.perf_counter() - started)
    after_writes = []
    for query in queries[: n_queries // 2]:
        started = time.perf_counter()
        index.search(query, limit=10)
        after_writes.append(time.perf_counter() - started)
    found = [[m.key for m in index.search(q, limit=10)] for q in queries[:50]]
    index.config = dataclasses.replace(index.config, terms_per_view=None)
    every_term = [[m.key for m in index.search(q, limit=10)] for q in queries[:50]]
    agreement = np.mean(
        [len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(found, every_term, strict=True)]
    )
    result: dict[str, object] = {
        "documents": size,
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "rounds": rounds,
        "build_seconds": round(build_seconds, 2),
        "corpus_seconds": round(corpus_seconds, 2),
        "index_mb": round(index.nbytes() / 1e6, 1),
        "process_rss_mb": round(rss_after_build, 1),
        "process_rss_growth_mb": round(rss_after_build - rss_before, 1),
        "process_peak_rss_mb": round(_peak_rss_mb(), 1),
        "search_ms": _percentiles(latencies),
        "search_ms_by_round": [
            _percentiles(latencies[i * len(queries) : (i + 1) * len(queries)])
            for i in range(rounds)
        ],
        "search_filtered_ms": _percentiles(filtered),
        "upsert_ms": {**_percentiles(upserts), "max": round(max(upserts) * 1000, 3)},
        "search_after_200_upserts_ms": _percentiles(after_writes),
        "top10_agreement_with_all_terms": round(float(agreement), 3),
    }
    if retriever is not None:
        result["bm25s"] = {
            "version": bm25s_version(),
            "retrieve_ms": _percentiles(bm25s_latencies),
        }
    gc.unfreeze()
    return result


def bm25s_version() -> str:
    import bm25s

    return str(bm25s.__version__)


def _bm25s_index(corpus: Corpus, size: int) -> Any:
    """bm25s over the same documents' tokens (regenerated from the same seed)."""
    import bm25s

    _progress("bm25s: indexing the same tokens")
    texts = [[t for tokens in doc.values() for t in tokens] for _, doc, _ in corpus.documents(size)]
    retriever = bm25s.BM25()
    retriever.index(texts, show_progress=False)
    return retriever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench")
    parser.add_argument("--sizes", default="2000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times the search series (and bm25s) runs over the queries; "
        "percentiles are over all rounds' samples",
    )
    parser.add_argument("--no-bm25s", action="store_true")
    args = parser.parse_args(argv)
    for size in (int(s) for s in args.sizes.split(",") if s):
        result = bench_size(size, args.queries, with_bm25s=not args.no_bm25s, rounds=args.rounds)
        print(json.dumps(result), flush=True)
        gc.collect()


if __name__ == "__main__":
    main()
