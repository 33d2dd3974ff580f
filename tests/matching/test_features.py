"""A document's terms, counted by the vectorised encoder and by the query's plain Python,
equal the reference's (tests/matching/reference.py), on small Chinese texts."""

from __future__ import annotations

import numpy as np
import pytest

from app.matching.features import DocTokens, analyze
from app.matching.query import query_terms
from app.matching.text import Tokenizer
from app.matching.vocabulary import BIGRAM, CHAR, HAN_FIRST, Vocabulary
from tests.matching import reference

TEXTS = [
    {"title": "石英坩埚", "description": "石英坩埚涂层，坩埚的涂层工艺", "tags": "涂层 坩埚"},
    {"description": "auth-username与3.5mm厚钢板，汽车球笼用钢cf53研发"},
    {"title": "杂粮深加工", "indicators": "产能 10万吨", "description": "小米和高粱食品开发"},
    {"description": "的的确确，一一一，哈哈哈哈"},
]


@pytest.fixture(scope="module")
def docs() -> list[DocTokens]:
    tokenizer = Tokenizer()
    return [analyze(fields, tokenizer) for fields in TEXTS]


def names(vocab: Vocabulary) -> dict[int, tuple[int, str]]:
    """Every term id's (view, text), read back from the vocabulary."""
    out = {i: (0, t) for t, i in vocab.ids.items()}
    out.update({int(i): (CHAR, chr(c + HAN_FIRST)) for c, i in enumerate(vocab.chars) if i >= 0})
    known, ids, recent = vocab.bigrams._state
    codes = {**dict(zip(known.tolist(), ids.tolist(), strict=True)), **recent}
    out.update({i: (BIGRAM, chr(c >> 21) + chr(c & 0x1FFFFF)) for c, i in codes.items()})
    return out


def test_encoded_documents_equal_the_reference(docs: list[DocTokens]) -> None:
    vocab = Vocabulary()
    rows, lengths = vocab.encode(docs[:2])  # two calls: the second reuses and adds terms
    more_rows, more_lengths = vocab.encode(docs[2:])
    named = names(vocab)
    assert len(named) == vocab.size  # every id once, words, bigrams and characters
    for i, doc in enumerate(docs):
        part, row = (rows, i) if i < 2 else (more_rows, i - 2)
        start, end = part.indptr[row], part.indptr[row + 1]
        got = {
            named[t]: c
            for t, c in zip(
                part.indices[start:end].tolist(), part.data[start:end].tolist(), strict=True
            )
        }
        want = reference.features(doc)
        assert got == want.counts
        assert (lengths if i < 2 else more_lengths)[row].tolist() == want.lengths


def test_query_terms_equal_the_reference_known_or_not(docs: list[DocTokens]) -> None:
    vocab = Vocabulary()
    vocab.encode(docs[:2])  # the others' words stay unknown
    named = names(vocab)
    for doc in docs:
        query = query_terms(doc, vocab)
        assert query is not None
        want = reference.features(doc)
        got = {}
        for view, code, term_id, count in zip(
            query.views.tolist(),
            query.codes.tolist(),
            query.ids.tolist(),
            query.tf.tolist(),
            strict=True,
        ):
            pair = chr(code >> 21) + chr(code & 0x1FFFFF)
            text = query.words[code] if view == 0 else pair if view == BIGRAM else chr(code)
            got[view, text] = count
            if term_id >= 0:
                assert named[term_id] == (view, text)
        assert got == want.counts
        assert query.lengths.tolist() == want.lengths


def test_a_query_with_no_tokens_has_no_terms() -> None:
    assert query_terms({}, Vocabulary()) is None
    assert query_terms({"description": []}, Vocabulary()) is None


def test_explanations_split_shared_terms_between_their_words() -> None:
    query = query_terms({"description": ["石英", "坩埚", "石英坩埚"]}, Vocabulary())
    assert query is not None
    terms, words = query.sources
    char = int(np.flatnonzero((query.views == CHAR) & (query.codes == ord("英")))[0])
    pair = ord("英") << 21 | ord("坩")
    bigram = int(np.flatnonzero((query.views == BIGRAM) & (query.codes == pair))[0])
    found = sorted(
        {
            (term, query.words[word])
            for term, word in zip(terms.tolist(), words.tolist(), strict=True)
            if term in (char, bigram)
        }
    )
    # 英 is inside 石英 and 石英坩埚; 英坩 joins 石英 and 坩埚 and is inside 石英坩埚.
    want = [(bigram, "坩埚"), (bigram, "石英"), (bigram, "石英坩埚")]
    assert found == sorted([(char, "石英"), (char, "石英坩埚"), *want])
