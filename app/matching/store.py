"""Vocabulary and per-document feature arrays: the raw material the index is built from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from app.matching.features import BIGRAM_PREFIX, FIELD_WEIGHTS

I32 = npt.NDArray[np.int32]
F32 = npt.NDArray[np.float32]


def _han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


class Vocabulary:
    """Term ids for words and bigrams; each token's word id and bigram ids are cached."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.terms: list[str] = []
        self.bigram_flags: list[bool] = []
        self._token_cache: dict[str, tuple[int, tuple[int, ...]]] = {}

    def __len__(self) -> int:
        return len(self.terms)

    def _id(self, term: str, *, bigram: bool) -> int:
        found = self.ids.get(term)
        if found is None:
            found = self.ids[term] = len(self.terms)
            self.terms.append(term)
            self.bigram_flags.append(bigram)
        return found

    def token(self, token: str) -> tuple[int, tuple[int, ...]]:
        """The id of ``token`` and of the character bigrams inside it (Chinese words only)."""
        info = self._token_cache.get(token)
        if info is None:
            pairs = [token[i : i + 2] for i in range(len(token) - 1)]
            bigrams = tuple(
                self._id(BIGRAM_PREFIX + p, bigram=True) for p in pairs if _han(p[0]) and _han(p[1])
            )
            info = self._token_cache[token] = (self._id(token, bigram=False), bigrams)
        return info

    def lookup(self, token: str) -> tuple[int, tuple[int, ...]] | None:
        """Like token() but never adds: for queries, whose unknown words match nothing."""
        info = self._token_cache.get(token)
        if info is not None:
            return info
        word = self.ids.get(token)
        pairs = [token[i : i + 2] for i in range(len(token) - 1)]
        bigrams = tuple(
            i
            for p in pairs
            if _han(p[0]) and _han(p[1]) and (i := self.ids.get(BIGRAM_PREFIX + p)) is not None
        )
        if word is None and not bigrams:
            return None
        return (-1 if word is None else word), bigrams


class DocFeatures:
    """One document as sorted term ids with field-weighted counts, and its view lengths."""

    __slots__ = ("bigram_length", "ids", "tf", "word_length")

    def __init__(self, ids: I32, tf: F32, word_length: float, bigram_length: float) -> None:
        self.ids = ids
        self.tf = tf
        self.word_length = word_length
        self.bigram_length = bigram_length


def doc_features(
    tokens: Mapping[str, list[str]], vocab: Vocabulary, *, add: bool = True
) -> tuple[DocFeatures, dict[int, list[str]]]:
    """Features of a document or query; also which words each bigram id came from."""
    counts: dict[int, float] = {}
    sources: dict[int, list[str]] = {}
    word_length = bigram_length = 0.0
    for field, items in tokens.items():
        weight = FIELD_WEIGHTS.get(field, 1.0)
        for token, n in Counter(items).items():
            info = vocab.token(token) if add else vocab.lookup(token)
            if info is None:
                continue
            word, bigrams = info
            amount = n * weight
            if word >= 0:
                counts[word] = counts.get(word, 0.0) + amount
            word_length += amount
            for bigram in bigrams:
                counts[bigram] = counts.get(bigram, 0.0) + amount
                bigram_length += amount
                if not add:
                    sources.setdefault(bigram, []).append(token)
    ids = np.fromiter(counts.keys(), dtype=np.int32, count=len(counts))
    tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
    order = np.argsort(ids, kind="stable")
    return DocFeatures(ids[order], tf[order], word_length, bigram_length), sources
