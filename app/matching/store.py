"""Vocabulary and document features: the raw material the index is built from.

A document has three views, each a bag of terms with field-weighted counts:

- words: the stored tokens;
- bigrams: the character bigrams inside each Chinese word and across two adjacent words
  (``深度`` ``学习`` gives ``深度``, ``度学``, ``学习``);
- chars: the single Chinese characters.

The index stores only the *primary* features of a document (words and the bigrams across
words); the bigrams inside a word and its characters are derived from the word's id through
the vocabulary's sub-term table, so they cost no storage per document.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from app.matching.features import BIGRAM_PREFIX, CHAR_PREFIX, FIELD_WEIGHTS
from app.matching.scoring import BIGRAM, CHAR, WORD

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


def _han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


class _Ids(dict[str, int]):
    """Term ids; looking up a missing word with [] adds it (used by the bulk encoder)."""

    def __init__(self, vocab: Vocabulary) -> None:
        super().__init__()
        self.vocab = vocab

    def __missing__(self, token: str) -> int:
        return self.vocab.add_word(token)


class Vocabulary:
    """Term ids for the three views; per word, the ids of the bigrams and chars inside it."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = _Ids(self)
        self.terms: list[str] = []
        self.kinds = bytearray()
        self._subs: list[tuple[int, ...]] = []
        self._first = array("i")  # first / last character of a word if Chinese, else -1
        self._last = array("i")
        self._table: tuple[int, I64, I32, U8, I32, I32] | None = None

    def __len__(self) -> int:
        return len(self.terms)

    def _new(self, term: str, kind: int, subs: tuple[int, ...] = (), edges: str = "") -> int:
        found = len(self.terms)
        dict.__setitem__(self.ids, term, found)
        self.terms.append(term)
        self.kinds.append(kind)
        self._subs.append(subs)
        self._first.append(ord(edges[0]) if edges and _han(edges[0]) else -1)
        self._last.append(ord(edges[-1]) if edges and _han(edges[-1]) else -1)
        return found

    def term(self, term: str, kind: int) -> int:
        found = dict.get(self.ids, term)
        return self._new(term, kind) if found is None else found

    def add_word(self, token: str) -> int:
        found = dict.get(self.ids, token)
        if found is not None:
            return found
        subs = tuple(self.term(BIGRAM_PREFIX + b, BIGRAM) for b in inner_bigrams(token)) + tuple(
            self.term(CHAR_PREFIX + ch, CHAR) for ch in token if _han(ch)
        )
        return self._new(token, WORD, subs, token)

    def edges(self) -> tuple[I32, I32]:
        """Per term: the code of its first and last character if Chinese, else -1."""
        first = np.frombuffer(self._first.tobytes(), dtype=np.int32)
        last = np.frombuffer(self._last.tobytes(), dtype=np.int32)
        return first, last

    def table(self) -> tuple[int, I64, I32, U8, I32, I32]:
        """(size, sub indptr, sub ids, kinds, first char, last char) as arrays, cached."""
        size = len(self.terms)
        if self._table is None or self._table[0] != size:
            lengths = np.fromiter(map(len, self._subs), dtype=np.int64, count=size)
            indptr = np.zeros(size + 1, dtype=np.int64)
            np.cumsum(lengths, out=indptr[1:])
            ids = np.fromiter(
                (i for subs in self._subs for i in subs), dtype=np.int32, count=int(indptr[-1])
            )
            kinds = np.frombuffer(bytes(self.kinds), dtype=np.uint8)
            first, last = self.edges()
            self._table = (size, indptr, ids, kinds, first, last)
        return self._table


def inner_bigrams(token: str) -> list[str]:
    return [token[i : i + 2] for i in range(len(token) - 1) if _han(token[i]) and _han(token[i + 1])]


def term_counts(
    tokens: Mapping[str, list[str]], *, sources: bool = False
) -> tuple[dict[str, tuple[int, float]], list[float], dict[str, list[str]]]:
    """All features of one document or query as term text -> (view, count), view lengths,
    and (for explanations) which query words each bigram or char came from."""
    counts: dict[str, tuple[int, float]] = {}
    lengths = [0.0, 0.0, 0.0]
    origin: dict[str, list[str]] = {}

    def add(term: str, view: int, amount: float, words: tuple[str, ...]) -> None:
        old = counts.get(term)
        counts[term] = (view, amount + (old[1] if old else 0.0))
        lengths[view] += amount
        if sources:
            known = origin.setdefault(term, [])
            known.extend(w for w in words if w not in known)

    for field, items in tokens.items():
        weight = FIELD_WEIGHTS.get(field, 1.0)
        for token, n in Counter(items).items():
            amount = n * weight
            add(token, WORD, amount, (token,))
            for pair in inner_bigrams(token):
                add(BIGRAM_PREFIX + pair, BIGRAM, amount, (token,))
            for ch in token:
                if _han(ch):
                    add(CHAR_PREFIX + ch, CHAR, amount, (token,))
        for a, b in zip(items, items[1:], strict=False):
            if a and b and _han(a[-1]) and _han(b[0]):
                add(BIGRAM_PREFIX + a[-1] + b[0], BIGRAM, weight, (a, b))
    return counts, lengths, origin


class DocFeatures:
    """One document: all features (sorted ids, counts), primary features, view lengths."""

    __slots__ = ("ids", "lengths", "primary_ids", "primary_tf", "tf")

    def __init__(self, ids: I32, tf: F32, primary_ids: I32, primary_tf: F32, lengths: F32):
        self.ids = ids
        self.tf = tf
        self.primary_ids = primary_ids
        self.primary_tf = primary_tf
        self.lengths = lengths


def doc_features(tokens: Mapping[str, list[str]], vocab: Vocabulary) -> DocFeatures:
    """Features of one document, adding new terms to the vocabulary."""
    counts, lengths, _ = term_counts(tokens)
    full: dict[int, float] = {}
    primary: dict[int, float] = {}
    for term, (view, amount) in counts.items():
        if view == WORD:
            term_id = vocab.add_word(term)
            primary[term_id] = amount
        else:
            term_id = vocab.term(term, view)
        full[term_id] = amount
    # Bigrams across words are primary too: what is left after the inner ones are derived.
    for term_id, derived in _derived(primary, vocab).items():
        rest = full[term_id] - derived
        if rest > 0:
            primary[term_id] = rest
    return DocFeatures(*_sorted(full), *_sorted(primary), np.array(lengths, dtype=np.float32))


def _derived(words: Mapping[int, float], vocab: Vocabulary) -> dict[int, float]:
    out: dict[int, float] = {}
    subs = vocab._subs
    for word, amount in words.items():
        for sub in subs[word]:
            out[sub] = out.get(sub, 0.0) + amount
    return out


def _sorted(values: Mapping[int, float]) -> tuple[I32, F32]:
    ids = np.fromiter(values.keys(), dtype=np.int32, count=len(values))
    tf = np.fromiter(values.values(), dtype=np.float32, count=len(values))
    order = np.argsort(ids, kind="stable")
    return ids[order], tf[order]


def encode_bulk(docs: Sequence[Mapping[str, list[str]]], vocab: Vocabulary) -> sp.csr_matrix:
    """Primary features of many documents at once (rows = documents), vectorised.

    Equal to ``doc_features(...).primary_*`` for each document; the only Python per token is
    one dictionary lookup."""
    flat: list[str] = []
    seg_len: list[int] = []
    seg_weight: list[float] = []
    seg_doc: list[int] = []
    for i, doc in enumerate(docs):
        for field, items in doc.items():
            if items:
                flat.extend(items)
                seg_len.append(len(items))
                seg_weight.append(FIELD_WEIGHTS.get(field, 1.0))
                seg_doc.append(i)
    words = np.fromiter(map(vocab.ids.__getitem__, flat), dtype=np.int32, count=len(flat))
    del flat
    lengths = np.array(seg_len, dtype=np.int64)
    doc_of = np.repeat(np.array(seg_doc, dtype=np.int32), lengths)
    weight = np.repeat(np.array(seg_weight, dtype=np.float32), lengths)
    seg_of = np.repeat(np.arange(len(seg_len), dtype=np.int32), lengths)
    first, last = vocab.edges()
    left, right = last[words[:-1]], first[words[1:]]
    joined = (left >= 0) & (right >= 0) & (seg_of[:-1] == seg_of[1:])
    keys = (left[joined].astype(np.int64) << 21) | right[joined]
    unique, inverse = np.unique(keys, return_inverse=True)
    pair_ids = np.fromiter(
        (
            vocab.term(BIGRAM_PREFIX + chr(k >> 21) + chr(k & 0x1FFFFF), BIGRAM)
            for k in unique.tolist()
        ),
        dtype=np.int32,
        count=len(unique),
    )
    rows = np.concatenate([doc_of, doc_of[:-1][joined]])
    cols = np.concatenate([words, pair_ids[inverse.ravel()]])
    data = np.concatenate([weight, weight[:-1][joined]]).astype(np.float64)
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(len(docs), len(vocab)))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix
