"""Measure ranking quality on a BEIR-layout dataset through the service's own code path.

    python -m benchmarks.evaluate DATASET_DIR              # quality, one JSON object
    python -m benchmarks.evaluate DATASET_DIR --all-terms  # every query term scores
    python -m benchmarks.evaluate DATASET_DIR --segmentation   # fast vs plain jieba
    python -m benchmarks.evaluate DATASET_DIR --compare  # vs scikit-learn TF-IDF, ablations

The corpus is tokenised with the default Tokenizer and analyze() ({"title", "description"}),
loaded with MatchIndex.bulk_load() under DEFAULT_CONFIG (``--all-terms``: with no
selection of a long query's terms), and each query is analyze()d as a
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
from app.matching.scoring import DEFAULT_CONFIG, MatchConfig
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


GET_DATA = (
    "get the public CSL dataset (Chinese Scientific Literature) in BEIR layout, as the C-MTEB"
    " collection publishes it (corpus.jsonl, queries.jsonl, qrels/dev.tsv), and run"
    " make evaluate DATA=<its directory>"
)


def query_files(dataset: Path) -> list[tuple[str, Path, Path]]:
    """The query sets: (name, queries, qrels) for each queries-<name>.jsonl with
    qrels/<name>.tsv, and the BEIR default queries.jsonl with qrels/dev.tsv as "dev"."""
    found = []
    for path in sorted(dataset.glob("queries-*.jsonl")):
        name = path.stem.removeprefix("queries-")
        found.append((name, path, dataset / "qrels" / f"{name}.tsv"))
    if (dataset / "queries.jsonl").is_file():
        found.append(("dev", dataset / "queries.jsonl", dataset / "qrels" / "dev.tsv"))
    return [entry for entry in found if entry[2].is_file()]


def check_dataset(dataset: Path) -> str | None:
    """Why `dataset` is not a BEIR-layout directory the evaluator can read, or None."""
    if not dataset.is_dir():
        return f"{dataset}: no such directory; {GET_DATA}"
    if not (dataset / "corpus.jsonl").is_file() or not query_files(dataset):
        return f"{dataset}: no corpus.jsonl, or no queries with their qrels; {GET_DATA}"
    return None


def evaluate(
    dataset: Path, *, limit: int = 10, config: MatchConfig = DEFAULT_CONFIG
) -> dict[str, object]:
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
    index = MatchIndex(config)
    started = time.perf_counter()
    index.bulk_load(docs)
    index_seconds = time.perf_counter() - started
    query_sets: dict[str, object] = {}
    for name, path, qrels_path in query_files(dataset):
        qrels = _qrels(qrels_path)
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
    for _, path, _ in query_files(dataset):
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
    # Bulk re-segmentation of every text 4 times over (~21 MB, a rebuild-sized job):
    # tokenize() in this process against tokenize_many() on a pool of 2 worker processes
    # (their start-up included), and whether their tokens are identical.
    bulk = texts * 4
    bulk_megabytes = 4 * megabytes
    started = time.perf_counter()
    single = [tokenizer.tokenize(t) for t in bulk]
    single_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pooled = tokenizer.tokenize_many(bulk, processes=2, chunksize=256)
    pooled_seconds = time.perf_counter() - started
    return {
        "bulk_tokenize": {
            "megabytes": round(bulk_megabytes, 2),
            "one_process_mb_per_s": round(bulk_megabytes / single_seconds, 2),
            "two_processes_mb_per_s": round(bulk_megabytes / pooled_seconds, 2),
            "identical": single == pooled,
        },
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


def _metrics(ranked: list[list[str]], relevant: list[set[str]]) -> dict[str, float]:
    mrr = recall = 0.0
    for keys, rel in zip(ranked, relevant, strict=True):
        hits = [i for i, key in enumerate(keys[:10]) if key in rel]
        if hits:
            mrr += 1.0 / (hits[0] + 1)
            recall += len(hits) / len(rel)
    n = max(len(ranked), 1)
    return {"mrr@10": round(mrr / n, 4), "recall@10": round(recall / n, 4)}


def compare(dataset: Path) -> list[dict[str, object]]:
    """The shipped engine against scikit-learn TF-IDF on the same jieba tokens, and ablations
    of the engine's views (MRR@10 / Recall@10 per query set)."""
    from dataclasses import replace

    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    tokenizer = Tokenizer()
    corpus = list(_jsonl(dataset / "corpus.jsonl"))
    keys = [str(r["_id"]) for r in corpus]
    docs = [
        analyze(
            {"title": str(r.get("title") or ""), "description": str(r.get("text") or "")}, tokenizer
        )
        for r in corpus
    ]
    sets: dict[str, tuple[list[DocTokens], list[set[str]]]] = {}
    for name, path, qrels_path in query_files(dataset):
        qrels = _qrels(qrels_path)
        rows = [r for r in _jsonl(path) if str(r["_id"]) in qrels]
        sets[name] = (
            [analyze({"description": str(r["text"])}, tokenizer) for r in rows],
            [qrels[str(r["_id"])] for r in rows],
        )
    out: list[dict[str, object]] = []

    def words(doc: DocTokens) -> list[str]:
        return [t for tokens in doc.values() for t in tokens]

    def chars(doc: DocTokens) -> str:
        return "\n".join("".join(tokens) for tokens in doc.values())

    def tfidf(name: str, views: list[tuple[TfidfVectorizer, object, float]]) -> None:
        matrices = []
        for vectorizer, extract, weight in views:
            matrix = vectorizer.fit_transform([extract(d) for d in docs])  # type: ignore[operator]
            matrices.append((vectorizer, extract, weight, matrix))
        row: dict[str, object] = {"method": name}
        for set_name, (queries, relevant) in sets.items():
            scores = None
            for vectorizer, extract, weight, matrix in matrices:
                q = vectorizer.transform([extract(d) for d in queries])  # type: ignore[operator]
                part = (q @ matrix.T) * weight
                scores = part if scores is None else scores + part
            assert scores is not None
            dense = sp.csr_matrix(scores).toarray()
            ranked = []
            for values in dense:
                top = np.argsort(-values, kind="stable")[:10]
                ranked.append([keys[i] for i in top if values[i] > 0])
            row[set_name] = _metrics(ranked, relevant)
        _progress(json.dumps(row, ensure_ascii=False))
        out.append(row)

    def identity(doc: list[str]) -> list[str]:
        return doc

    word_view = (
        TfidfVectorizer(analyzer=identity, sublinear_tf=True),
        words,
        1.0,
    )
    tfidf("sklearn TF-IDF sublinear, words", [word_view])
    for weight in (0.5, 1.0):
        char_view = (
            TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True),
            chars,
            weight,
        )
        tfidf(f"sklearn TF-IDF sublinear, words + chars 1-2 x {weight}", [word_view, char_view])
    configs = {
        "engine: words (BM25)": replace(DEFAULT_CONFIG, view_weights=(1.0, 0.0, 0.0)),
        "engine: words + bigrams": replace(DEFAULT_CONFIG, view_weights=(1.0, 0.5, 0.0)),
        "engine: words + chars": replace(DEFAULT_CONFIG, view_weights=(1.0, 0.0, 0.5)),
        "engine: shipped (words + bigrams + chars)": DEFAULT_CONFIG,
        "engine: shipped, no IDF prior": replace(DEFAULT_CONFIG, idf_prior_docs=0),
        "engine: shipped, every query term": replace(DEFAULT_CONFIG, terms_per_view=None),
    }
    for name, config in configs.items():
        index = MatchIndex(config)
        index.bulk_load((key, doc, {}) for key, doc in zip(keys, docs, strict=True))
        row = dict[str, object](method=name)
        for set_name, (queries, relevant) in sets.items():
            ranked = [[m.key for m in index.search(q, limit=10)] for q in queries]
            row[set_name] = _metrics(ranked, relevant)
        _progress(json.dumps(row, ensure_ascii=False))
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    """Evaluate, or say in one line why the dataset cannot be read (exit 2)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.evaluate")
    parser.add_argument("dataset", type=Path, help="BEIR-layout directory")
    parser.add_argument(
        "--segmentation", action="store_true", help="compare fast and plain jieba segmentation"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="scikit-learn TF-IDF on the same tokens, and ablations of the engine's views",
    )
    parser.add_argument(
        "--all-terms",
        action="store_true",
        help="score every query term (no selection of a long query's most informative terms)",
    )
    args = parser.parse_args(argv)
    if (problem := check_dataset(args.dataset)) is not None:
        print(f"evaluate: {problem}", file=sys.stderr)
        return 2
    try:
        if args.compare:
            for row in compare(args.dataset):
                print(json.dumps(row, ensure_ascii=False))
            return 0
        config = MatchConfig(terms_per_view=None) if args.all_terms else DEFAULT_CONFIG
        result = (
            segmentation(args.dataset)
            if args.segmentation
            else evaluate(args.dataset, config=config)
        )
    except (OSError, ValueError, KeyError) as exc:  # a file that is not BEIR's JSON or TSV
        print(f"evaluate: {args.dataset} is not a readable BEIR dataset ({exc!r})", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
