"""The index returns exactly the plain reference's top-k (tests/matching/reference.py).

On synthetic corpora (bulk loads, upserts, edits, removals, compaction, filters, short and
long queries) and, when MATCH_EVAL_DATA names a BEIR-layout directory, on its corpus and
queries. N and the document frequencies count every document version held since the last
compaction (bulk_load and compact() compact), and so do the average lengths: the reference
is given those versions and computes all three from them.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from app.matching import MatchConfig, MatchIndex, Tokenizer, analyze
from app.matching.features import DocTokens
from benchmarks.bench import Corpus
from tests.matching import reference
from tests.matching.reference import Features


class Mirror:
    """The documents an index holds, for the reference: live ones and statistics."""

    def __init__(self) -> None:
        self.live: dict[str, tuple[Features, Any]] = {}
        self.held: list[Features] = []

    def write(self, key: str, doc: DocTokens, meta: Any) -> None:
        features = reference.features(doc)
        self.live[key] = (features, meta)
        self.held.append(features)

    def remove(self, key: str) -> None:
        self.live.pop(key, None)

    def compact(self) -> None:
        self.held = [features for features, _ in self.live.values()]


def assert_exact(
    index: MatchIndex,
    mirror: Mirror,
    query: DocTokens,
    *,
    limit: int = 10,
    where: Callable[[Any], bool] | None = None,
    terms_per_view: int | None = 64,
    df: Mapping[reference.Term, int] | None = None,
) -> None:
    got = index.search(query, limit=limit, where=where)
    averages = [sum(doc.lengths[v] for doc in mirror.held) / len(mirror.held) for v in range(3)]
    want = reference.search(
        mirror.held,
        mirror.live,
        query,
        averages,
        limit=limit,
        where=where,
        terms_per_view=terms_per_view,
        df=df,
    )
    assert len(got) == len(want)
    for match, expected in zip(got, want, strict=True):
        assert match.score == pytest.approx(expected.score, rel=1e-9)
        if match.key != expected.key:  # only a tie may be ordered otherwise
            assert any(w.key == match.key for w in want)
            assert match.score == pytest.approx(expected.score, rel=1e-12)


def corpus_documents(n: int, seed: int) -> tuple[Corpus, list[tuple[str, DocTokens, Any]]]:
    corpus = Corpus(vocabulary_size=800, seed=seed)
    docs = []
    for i, (key, doc, _) in enumerate(corpus.documents(n)):
        short = {field: tokens[: 5 + i % 40] for field, tokens in doc.items()}
        docs.append((key, short if i % 3 else doc, {"org": i % 7}))
    return corpus, docs


def queries(corpus: Corpus) -> Iterator[DocTokens]:
    for length in (1, 3, 8, 30, 150, 400):  # 150 and 400 tokens: more terms than are kept
        yield corpus.query(length)
    yield {"title": corpus.query(6)["description"], "tags": corpus.query(3)["description"]}


@pytest.mark.parametrize("seed", [1, 2])
def test_bulk_loaded_index_equals_the_reference(seed: int) -> None:
    corpus, docs = corpus_documents(300, seed)
    index, mirror = MatchIndex(), Mirror()
    index.bulk_load(iter(docs))
    for key, doc, meta in docs:
        mirror.write(key, doc, meta)
    for query in queries(corpus):
        assert_exact(index, mirror, query)
        assert_exact(index, mirror, query, limit=3, where=lambda meta: meta["org"] in (1, 4))


def test_every_term_scoring_equals_the_reference_too() -> None:
    corpus, docs = corpus_documents(200, 3)
    index, mirror = MatchIndex(MatchConfig(terms_per_view=None)), Mirror()
    index.bulk_load(docs)
    for key, doc, meta in docs:
        mirror.write(key, doc, meta)
    for query in queries(corpus):
        assert_exact(index, mirror, query, terms_per_view=None)


def test_writes_edits_removals_and_compaction_keep_the_index_exact() -> None:
    corpus, docs = corpus_documents(400, 4)
    rng = random.Random(4)
    index, mirror = MatchIndex(), Mirror()
    index.bulk_load(docs[:150])
    for key, doc, meta in docs[:150]:
        mirror.write(key, doc, meta)
    probes = list(queries(corpus))
    for step, (key, doc, meta) in enumerate(docs[150:]):
        if step % 5 == 1:  # an edit of a loaded or written document
            key = f"d{rng.randrange(150 + step)}"
        index.upsert(key, doc, meta)
        mirror.write(key, doc, meta)
        if step % 7 == 3:
            gone = f"d{rng.randrange(150 + step)}"
            assert index.remove(gone) == (gone in mirror.live)
            mirror.remove(gone)
        if step % 25 == 0:  # several segments by now: the very next search sees every write
            for query in probes:
                assert_exact(index, mirror, query)
                assert_exact(index, mirror, query, where=lambda meta: meta["org"] != 2)
    assert len(index) == len(mirror.live)
    index.compact()
    mirror.compact()
    for query in probes:
        assert_exact(index, mirror, query)


def test_average_lengths_are_those_of_the_versions_held() -> None:
    _, docs = corpus_documents(50, 6)
    index = MatchIndex()
    lengths = [reference.features(doc).lengths for _, doc, _ in docs]
    index.upsert(*docs[0])
    assert index.averages.tolist() == lengths[0]
    index.bulk_load(docs[1:30])
    assert index.averages.tolist() == [sum(r[v] for r in lengths[:30]) / 30 for v in range(3)]
    for item in docs[30:]:
        index.upsert(*item)
    index.upsert(*docs[0])  # an edit: the old version counts until compaction
    held = [*lengths, lengths[0]]
    assert index.averages.tolist() == [sum(r[v] for r in held) / 51 for v in range(3)]
    index.compact()
    assert index.averages.tolist() == [sum(r[v] for r in lengths) / 50 for v in range(3)]


def answers(index: MatchIndex, probes: list[DocTokens]) -> list[list[tuple[str, float, Any]]]:
    where = lambda meta: meta["org"] != 3  # noqa: E731
    return [
        [(m.key, m.score, m.terms) for m in index.search(query, limit=limit, where=filter_)]
        for query in probes
        for limit, filter_ in ((10, None), (25, where))
    ]


def test_the_same_documents_answer_identically_whatever_the_history() -> None:
    """Statistics are a function of the versions held now: a bulk load, and upserts from
    empty with edits and removals in between, then compaction, give identical answers
    (keys, scores and explanations, bit for bit); so do the same writes in another order."""
    corpus, docs = corpus_documents(240, 8)
    probes = list(queries(corpus))
    final = docs[:200]
    loaded = MatchIndex()
    loaded.bulk_load(final)
    written = MatchIndex()
    rng = random.Random(8)
    for key, doc, meta in docs[200:]:  # documents that will be removed
        written.upsert(key.replace("d", "x"), doc, meta)
    for i, (key, _, _) in enumerate(final):
        if i % 4 == 0:  # an earlier version first, edited below
            written.upsert(key, docs[rng.randrange(200, 240)][1], {"org": 3})
    for key, doc, meta in reversed(final):
        written.upsert(key, doc, meta)
    for key, _, _ in docs[200:]:
        assert written.remove(key.replace("d", "x"))
    assert len(written) == len(loaded)
    written.compact()
    assert answers(written, probes) == answers(loaded, probes)
    shuffled = list(final)
    random.Random(9).shuffle(shuffled)
    upserted = MatchIndex()  # no dead version: equal without a compaction
    for item in shuffled:
        upserted.upsert(*item)
    assert answers(upserted, probes) == answers(loaded, probes)
    mirror = Mirror()
    for key, doc, meta in final:
        mirror.write(key, doc, meta)
    for query in probes:
        assert_exact(written, mirror, query)
        assert_exact(upserted, mirror, query)


def test_writes_one_at_a_time_equal_a_bulk_load_of_them() -> None:
    corpus, docs = corpus_documents(120, 5)
    written, loaded = MatchIndex(), MatchIndex()
    written.bulk_load(docs[:40])
    for item in docs[40:]:
        written.upsert(*item)
    loaded.bulk_load(docs[:40])
    loaded.bulk_load(docs[40:])
    probes = list(queries(corpus))
    assert answers(written, probes) == answers(loaded, probes)


EVAL_DATA = os.environ.get("MATCH_EVAL_DATA")


@pytest.mark.skipif(not EVAL_DATA, reason="set MATCH_EVAL_DATA to a BEIR-layout directory")
def test_evaluation_corpus_equals_the_reference() -> None:
    """Opt-in (a few minutes): the first 200 queries of each set of the evaluation data."""
    assert EVAL_DATA
    dataset = Path(EVAL_DATA)
    tokenizer = Tokenizer()
    index, mirror = MatchIndex(), Mirror()
    docs = []
    with (dataset / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            fields = {"title": row.get("title") or "", "description": row.get("text") or ""}
            docs.append((str(row["_id"]), analyze(fields, tokenizer), {}))
    index.bulk_load(docs)
    for key, doc, meta in docs:
        mirror.write(key, doc, meta)
    df = reference.document_frequencies(mirror.held)
    for path in sorted(dataset.glob("queries*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in list(handle)[:200]:
                query = analyze({"description": json.loads(line)["text"]}, tokenizer)
                assert_exact(index, mirror, query, df=df)
