"""Measure ranking quality on a BEIR-layout dataset through the service's own code path.

    python -m app.matching.evaluate DATASET_DIR            # quality, one JSON object
    python -m app.matching.evaluate DATASET_DIR --segmentation   # fast vs plain jieba

The corpus is tokenised with the default Tokenizer and analyze() ({"title", "description"}),
loaded with MatchIndex.bulk_load() under DEFAULT_CONFIG, and each query is analyze()d as a
draft description and searched: the same calls the service makes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.matching.features import DocTokens, analyze
from app.matching.index import MatchIndex
from app.matching.scoring import DEFAULT_CONFIG
from app.matching.text import Tokenizer, normalize


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _qrels(path: Path) -> dict[str, set[str]]:
    relevant: dict[str, set[str]] = {}
    with path.open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            query, doc, score = line.rstrip("\n").split("\t")
            if float(score) > 0:
                relevant.setdefault(query, set()).add(doc)
    return relevant


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def evaluate(dataset: Path, *, limit: int = 10) -> dict[str, object]:
    tokenizer = Tokenizer()
    corpus = list(_jsonl(dataset / "corpus.jsonl"))
    discipline: dict[str, str] = {}
    started = time.perf_counter()
    docs: list[tuple[str, DocTokens, dict[str, object]]] = []
    for row in corpus:
        key = str(row["_id"])
        meta = row.get("metadata") or {}
        assert isinstance(meta, dict)
        if meta.get("discipline"):
            discipline[key] = str(meta["discipline"])
        fields = {"title": str(row.get("title") or ""), "description": str(row.get("text") or "")}
        docs.append((key, analyze(fields, tokenizer), {}))
    tokenize_seconds = time.perf_counter() - started
    _progress(f"tokenised {len(docs)} documents in {tokenize_seconds:.1f} s")
    index = MatchIndex(DEFAULT_CONFIG)
    started = time.perf_counter()
    index.bulk_load(docs)
    index_seconds = time.perf_counter() - started
    query_sets: dict[str, object] = {}
    for path in sorted(dataset.glob("queries-*.jsonl")):
        name = path.stem.removeprefix("queries-")
        qrels = _qrels(dataset / "qrels" / f"{name}.tsv")
        query_sets[name] = _run_set(index, tokenizer, path, qrels, discipline, limit)
        _progress(f"{name}: {query_sets[name]}")
    return {
        "documents": len(index),
        "tokenize_seconds": round(tokenize_seconds, 2),
        "index_seconds": round(index_seconds, 2),
        "query_sets": query_sets,
    }


def _run_set(
    index: MatchIndex,
    tokenizer: Tokenizer,
    path: Path,
    qrels: dict[str, set[str]],
    discipline: dict[str, str],
    limit: int,
) -> dict[str, object]:
    mrr = recall1 = recall10 = ndcg = 0.0
    same_share: list[float] = []
    latencies: list[float] = []
    n = 0
    for row in _jsonl(path):
        query_id = str(row["_id"])
        relevant = qrels.get(query_id)
        if not relevant:
            continue
        n += 1
        query = analyze({"description": str(row["text"])}, tokenizer)
        started = time.perf_counter()
        matches = index.search(query, limit=limit + 1)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [m.key for m in matches]
        top = ranked[:limit]
        ranks = [i for i, key in enumerate(top) if key in relevant]
        if ranks:
            mrr += 1.0 / (ranks[0] + 1)
            recall10 += len(ranks) / len(relevant)
            recall1 += 1.0 if ranks[0] == 0 else 0.0
            ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), limit)))
            ndcg += sum(1.0 / math.log2(r + 2) for r in ranks) / ideal
        own = [discipline[d] for d in relevant if d in discipline]
        if own:
            others = [key for key in ranked if key not in relevant][:limit]
            if others:
                same = sum(1 for key in others if discipline.get(key) == own[0])
                same_share.append(same / len(others))
    times = np.array(latencies or [0.0])
    return {
        "queries": n,
        "mrr@10": round(mrr / max(n, 1), 4),
        "recall@1": round(recall1 / max(n, 1), 4),
        "recall@10": round(recall10 / max(n, 1), 4),
        "ndcg@10": round(ndcg / max(n, 1), 4),
        "discipline_p@10": round(float(np.mean(same_share)), 4) if same_share else None,
        "latency_ms": {
            "p50": round(float(np.percentile(times, 50)), 3),
            "p99": round(float(np.percentile(times, 99)), 3),
        },
    }


def segmentation(dataset: Path) -> dict[str, object]:
    """Segment every corpus and query text both ways; report speed and token equality."""
    tokenizer = Tokenizer()
    texts = [
        normalize(str(r.get("title") or "") + "\n" + str(r.get("text") or ""))
        for r in _jsonl(dataset / "corpus.jsonl")
    ]
    for path in sorted(dataset.glob("queries-*.jsonl")):
        texts += [normalize(str(r["text"])) for r in _jsonl(path)]
    segmenter = tokenizer.segmenter
    started = time.perf_counter()
    segmenter.cut("预热")
    load_fast = time.perf_counter() - started
    started = time.perf_counter()
    segmenter.reference_cut("预热")
    load_reference = time.perf_counter() - started
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    started = time.perf_counter()
    fast = [segmenter.cut(t) for t in texts]
    fast_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reference = [segmenter.reference_cut(t) for t in texts]
    reference_seconds = time.perf_counter() - started
    identical = sum(1 for a, b in zip(fast, reference, strict=True) if a == b)
    return {
        "texts": len(texts),
        "megabytes": round(megabytes, 2),
        "dictionary_words_added": len(segmenter.words),
        "fast": {"mb_per_s": round(megabytes / fast_seconds, 2), "load_s": round(load_fast, 2)},
        "jieba": {
            "mb_per_s": round(megabytes / reference_seconds, 2),
            "load_s": round(load_reference, 2),
        },
        "identical_token_lists": round(identical / len(texts), 5),
        "differing_texts": len(texts) - identical,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.matching.evaluate")
    parser.add_argument("dataset", type=Path, help="BEIR-layout directory")
    parser.add_argument(
        "--segmentation", action="store_true", help="compare fast and plain jieba segmentation"
    )
    args = parser.parse_args(argv)
    result = segmentation(args.dataset) if args.segmentation else evaluate(args.dataset)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
