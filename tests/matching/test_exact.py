"""The index returns exactly the plain reference's top-k (tests/matching/reference.py).

On synthetic corpora (bulk loads, upserts, edits, removals, compaction, filters, short and
long queries) and, when MATCH_EVAL_DATA names a BEIR-layout directory, on its corpus and
queries. N and the document frequencies count every document version held since the last
compaction (bulk_load and compact() compact): the reference is given those versions. The
average lengths are the index's, fixed by its first documents; a test below checks them.
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
    assert index.averages is not None
    averages = index.averages.tolist()
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


def test_average_lengths_are_those_of_the_first_documents() -> None:
    _, docs = corpus_documents(50, 6)
    index = MatchIndex()
    assert index.averages is None
    index.bulk_load(docs[:30])
    lengths = [reference.features(doc).lengths for _, doc, _ in docs[:30]]
    expected = [sum(row[v] for row in lengths) / 30 for v in range(3)]
    assert index.averages is not None
    assert index.averages.tolist() == pytest.approx(expected, rel=1e-12)
    for item in docs[30:]:
        index.upsert(*item)
    index.compact()
    assert index.averages.tolist() == pytest.approx(expected, rel=1e-12)
    first = MatchIndex()
    first.upsert(*docs[0])
    assert first.averages is not None
    assert first.averages.tolist() == pytest.approx(lengths[0], rel=1e-12)


def test_writes_one_at_a_time_equal_a_bulk_load_of_them() -> None:
    corpus, docs = corpus_documents(120, 5)
    written, loaded = MatchIndex(), MatchIndex()
    written.bulk_load(docs[:40])
    for item in docs[40:]:
        written.upsert(*item)
    loaded.bulk_load(docs[:40])
    loaded.bulk_load(docs[40:])  # the same average lengths: the first load's
    for query in queries(corpus):
        got, want = written.search(query), loaded.search(query)
        assert [m.key for m in got] == [m.key for m in want]
        assert [m.score for m in got] == pytest.approx([m.score for m in want], rel=1e-12)


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
