"""The three ways a document's features are computed must agree exactly.

Upserts use the per-document path (``doc_features``), bulk loads the vectorised one
(``encode_bulk`` plus the base's derivation of inner bigrams and chars), queries
``build_query``; base and delta scores are only comparable if all three agree.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.matching.features import DocTokens, analyze
from app.matching.query import build_query
from app.matching.scoring import DEFAULT_CONFIG
from app.matching.segments import BaseSegment
from app.matching.store import Vocabulary, doc_features, encode_bulk, term_counts
from app.matching.text import Tokenizer

TEXTS = [
    {"title": "石英坩埚", "description": "石英坩埚涂层，坩埚的涂层工艺", "tags": "涂层 坩埚"},
    {"description": "auth-username与3.5mm厚钢板，汽车球笼用钢cf53研发"},
    {"title": "杂粮深加工", "indicators": "产能 10万吨", "description": "小米和高粱食品开发"},
    {"description": "的的确确，一一一"},
]


@pytest.fixture(scope="module")
def docs() -> list[DocTokens]:
    tokenizer = Tokenizer()
    return [analyze(fields, tokenizer) for fields in TEXTS]


def _full(vocab: Vocabulary, ids: np.ndarray, tf: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {}
    for term, count in zip(ids.tolist(), tf.tolist(), strict=True):
        out[vocab.terms[term]] = out.get(vocab.terms[term], 0.0) + count
    return out


def test_bulk_encoding_equals_one_document_at_a_time(docs: list[DocTokens]) -> None:
    vocab = Vocabulary()
    matrix = encode_bulk(docs, vocab)
    for row, doc in enumerate(docs):
        features = doc_features(doc, vocab)
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        bulk = _full(vocab, matrix.indices[start:end], matrix.data[start:end])
        assert bulk == _full(vocab, features.primary_ids, features.primary_tf)


def test_base_derivation_equals_the_text_features(docs: list[DocTokens]) -> None:
    vocab = Vocabulary()
    matrix = encode_bulk(docs, vocab)
    base = BaseSegment(matrix, np.ones(len(docs), np.bool_), vocab.table(), DEFAULT_CONFIG)
    for row, doc in enumerate(docs):
        counts, lengths, _ = term_counts(doc)
        _, terms, tf = base.expand(np.array([row], dtype=np.int64))
        assert _full(vocab, terms, tf) == {term: count for term, (_, count) in counts.items()}
        assert base.lengths[row].tolist() == lengths
        features = doc_features(doc, vocab)
        assert _full(vocab, features.ids, features.tf) == _full(vocab, terms, tf)


def test_query_features_equal_document_features(docs: list[DocTokens]) -> None:
    vocab = Vocabulary()
    for doc in docs[:2]:  # the others' words stay unknown to the vocabulary
        doc_features(doc, vocab)
    df = np.ones(len(vocab), dtype=np.int32)
    averages = np.ones(3, dtype=np.float32)
    for doc in docs:
        query = build_query(doc, vocab, df, 10, averages, DEFAULT_CONFIG)
        counts, _, _ = term_counts(doc)
        known = {t for t in counts if t in vocab.ids}
        if query is None:
            assert not known
            continue
        assert {vocab.terms[i] for i in query.ids.tolist()} == known
        words = {query.words[w] for w in query.origin_word.tolist()}
        assert words <= {t for tokens in doc.values() for t in tokens}


def test_every_bigram_and_only_bigrams_are_in_the_pair_table(docs: list[DocTokens]) -> None:
    from app.matching.scoring import BIGRAM
    from app.matching.store import pair_code

    vocab = Vocabulary()
    encode_bulk(docs[:2], vocab)  # bigrams across words, and inside words via add_word
    for doc in docs[2:]:
        doc_features(doc, vocab)
    bigrams = {t: i for t, i in vocab.ids.items() if vocab.kinds[i] == BIGRAM}
    assert bigrams
    codes = np.array([pair_code(t) for t in bigrams], dtype=np.int64)
    assert vocab.bigram_ids(codes).tolist() == list(bigrams.values())
    assert vocab._pairs.count == len(bigrams)  # and nothing else
    absent = np.array([(ord("鑫") << 21) | ord("龘"), (ord("石") << 21) | ord("龘")])
    assert vocab.bigram_ids(absent).tolist() == [-1, -1]


def test_query_weights_and_origins_equal_the_text_reference(docs: list[DocTokens]) -> None:
    """``build_query``'s weights, self score and word origins, against the same arithmetic on
    ``term_counts``' dictionaries (unknown words and pairs included)."""
    vocab = Vocabulary()
    for doc in docs[:2]:  # the others' words stay unknown to the vocabulary
        doc_features(doc, vocab)
    for doc in docs:
        _check_query(doc, vocab, seed=3)


@pytest.mark.parametrize("seed", range(4))
def test_long_synthetic_queries_equal_the_text_reference(seed: int) -> None:
    from app.matching.bench import Corpus

    corpus = Corpus(vocabulary_size=400, seed=seed)
    vocab = Vocabulary()
    for _ in range(30):
        doc_features(corpus.document(60), vocab)
    for length in (1, 5, 150):
        query = corpus.query(length)
        query["title"] = query["description"][:3]  # two fields: weights and no cross-field pair
        _check_query(query, vocab, seed=seed)


def _check_query(doc: DocTokens, vocab: Vocabulary, *, seed: int) -> None:
    from app.matching.scoring import bm25_idf, bm25_tf, query_tf

    config = DEFAULT_CONFIG
    rng = np.random.default_rng(seed)
    df = rng.integers(0, 4, len(vocab)).astype(np.int32)  # some known terms absent (df 0)
    averages = np.array([30.0, 55.0, 70.0], dtype=np.float32)
    n_docs = 10
    query = build_query(doc, vocab, df, n_docs, averages, config)
    counts, lengths, origin = term_counts(doc, sources=True)
    terms = list(counts)
    views = np.array([counts[t][0] for t in terms], dtype=np.int64)
    tf = np.array([counts[t][1] for t in terms], dtype=np.float32)
    term_df = np.array(
        [df[vocab.ids[t]] if dict.get(vocab.ids, t) is not None else 0 for t in terms]
    )
    weights = (
        query_tf(tf)
        * bm25_idf(term_df, n_docs + config.idf_prior_docs)
        * config.view_weights()[views]
    )
    ratio = np.array(lengths, dtype=np.float32)[views] / averages[views]
    self_score = float(np.dot(weights, bm25_tf(tf, ratio, config)))
    present = [i for i, t in enumerate(terms) if term_df[i] > 0]
    if not present:
        assert query is None
        return
    assert query is not None
    got = {vocab.terms[i]: k for k, i in enumerate(query.ids.tolist())}
    assert set(got) == {terms[i] for i in present}
    for i in present:
        k = got[terms[i]]
        assert query.views[k] == views[i]
        assert query.weights[k] == pytest.approx(weights[i], rel=1e-6)
    assert query.self_score == pytest.approx(self_score, rel=1e-5)
    cells = {
        (vocab.terms[int(query.ids[t])], query.words[w])
        for t, w in zip(query.origin_term.tolist(), query.origin_word.tolist(), strict=True)
    }
    assert cells == {(terms[i], word) for i in present for word in origin[terms[i]]}
