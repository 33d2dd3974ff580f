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
