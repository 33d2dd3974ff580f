"""MatchIndex: incremental BM25 over words and character bigrams, with explanations.

Writes go to a delta segment (microseconds) and tombstones; when the delta grows past
``merge_threshold`` it is folded into a new base. Document frequencies are maintained
exactly on every write, so IDF is always that of the live corpus; the average document
lengths that BM25 normalises by are refreshed at each merge.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from app.matching.query import build_query, explain, search_base, search_delta
from app.matching.scoring import DEFAULT_CONFIG, MatchConfig
from app.matching.segments import BaseSegment, DeltaSegment
from app.matching.store import DocFeatures, Vocabulary, doc_features

Where = Callable[[Mapping[str, object]], bool]


@dataclass(frozen=True)
class Match:
    """One ranked document: ``score`` in (0, 1]; ``terms`` are (word, share of the score)."""

    key: str
    score: float
    terms: list[tuple[str, float]] = field(default_factory=list)


class MatchIndex:
    """A thread-safe, incrementally updated index of one kind of document."""

    def __init__(
        self, config: MatchConfig = DEFAULT_CONFIG, *, merge_threshold: int = 20_000
    ) -> None:
        self.config = config
        self.merge_threshold = merge_threshold
        self._lock = threading.RLock()
        self._vocab = Vocabulary()
        self._df = np.zeros(1024, dtype=np.int64)
        self._keys: list[str | None] = []
        self._meta: list[Mapping[str, object]] = []
        self._key_to_doc: dict[str, int] = {}
        self._alive = np.zeros(1024, dtype=np.bool_)
        self._length_sums = [0.0, 0.0]
        self._base = BaseSegment([], np.zeros(0, dtype=np.bool_), config, (1.0, 1.0))
        self._base_lengths = np.zeros((0, 2), dtype=np.float32)
        self._base_dead: set[int] = set()
        self._delta = DeltaSegment(0)
        self._flags = np.zeros(1024, dtype=np.bool_)
        self._synced_terms = 0

    def __len__(self) -> int:
        return len(self._key_to_doc)

    def __contains__(self, key: object) -> bool:
        return key in self._key_to_doc

    # writes

    def upsert(self, key: str, tokens: Mapping[str, list[str]], meta: Mapping[str, object]) -> None:
        """Add or replace a document; the next search sees it."""
        with self._lock:
            self._remove(key)
            features, _ = doc_features(tokens, self._vocab)
            doc = self._append(key, features, meta)
            self._delta.add(doc, features)
            if len(self._delta) >= self.merge_threshold:
                self.compact()

    def remove(self, key: str) -> bool:
        """Drop a document; returns whether it was there."""
        with self._lock:
            return self._remove(key)

    def bulk_load(
        self, items: Iterable[tuple[str, Mapping[str, list[str]], Mapping[str, object]]]
    ) -> None:
        """Add many documents (already tokenised) and rebuild the base once."""
        with self._lock:
            for key, tokens, meta in items:
                self._remove(key)
                features, _ = doc_features(tokens, self._vocab)
                doc = self._append(key, features, meta)
                self._delta.docs[doc] = features  # postings come with compact()
                self._delta.next_doc = doc + 1
            self.compact()

    def compact(self) -> None:
        """Fold the delta and the tombstones into a new base (renumbering documents)."""
        with self._lock:
            live = np.flatnonzero(self._alive[: len(self._keys)])
            docs: list[DocFeatures] = []
            for doc in live.tolist():
                if doc < self._base.n_docs:
                    terms, _ = self._base.doc_row(doc)
                    start = self._base.doc_indptr[doc]
                    tf = self._base.doc_tf[start : start + len(terms)]
                    word_len, bigram_len = self._base_lengths[doc]
                    docs.append(DocFeatures(terms, tf, float(word_len), float(bigram_len)))
                else:
                    docs.append(self._delta.docs[doc])
            n = max(len(docs), 1)
            averages = (self._length_sums[0] / n, self._length_sums[1] / n)
            self._sync_vocabulary()
            flags = self._flags[: len(self._vocab)]
            self._base = BaseSegment(docs, flags, self.config, averages)
            self._base_lengths = np.array(
                [(d.word_length, d.bigram_length) for d in docs], dtype=np.float32
            ).reshape(-1, 2)
            self._keys = [self._keys[d] for d in live.tolist()]
            self._meta = [self._meta[d] for d in live.tolist()]
            self._key_to_doc = {k: i for i, k in enumerate(self._keys) if k is not None}
            self._alive = np.ones(max(len(docs), 1024), dtype=np.bool_)
            self._alive[len(docs) :] = False
            self._base_dead = set()
            self._delta = DeltaSegment(len(docs))

    def _append(self, key: str, features: DocFeatures, meta: Mapping[str, object]) -> int:
        doc = len(self._keys)
        self._keys.append(key)
        self._meta.append(dict(meta))
        self._key_to_doc[key] = doc
        if doc >= len(self._alive):
            self._alive = np.concatenate([self._alive, np.zeros_like(self._alive)])
        self._alive[doc] = True
        self._sync_vocabulary()
        self._df[features.ids] += 1
        self._length_sums[0] += features.word_length
        self._length_sums[1] += features.bigram_length
        return doc

    def _sync_vocabulary(self) -> None:
        """Grow the per-term arrays after new terms were added to the vocabulary."""
        size, synced = len(self._vocab), self._synced_terms
        if size == synced:
            return
        if size > len(self._df):
            capacity = max(size, 2 * len(self._df))
            df = np.zeros(capacity, dtype=np.int64)
            df[: len(self._df)] = self._df
            flags = np.zeros(capacity, dtype=np.bool_)
            flags[: len(self._flags)] = self._flags
            self._df, self._flags = df, flags
        self._flags[synced:size] = self._vocab.bigram_flags[synced:size]
        self._synced_terms = size

    def bigram_flags(self) -> npt.NDArray[np.bool_]:
        """Per term id: is it a character bigram (True) or a word."""
        return self._flags

    def _features_of(self, doc: int) -> DocFeatures:
        if doc < self._base.n_docs:
            terms, _ = self._base.doc_row(doc)
            word_len, bigram_len = self._base_lengths[doc]
            return DocFeatures(terms, np.zeros(0, np.float32), float(word_len), float(bigram_len))
        return self._delta.docs[doc]

    def _remove(self, key: str) -> bool:
        doc = self._key_to_doc.pop(key, None)
        if doc is None:
            return False
        features = self._features_of(doc)
        self._df[features.ids] -= 1
        self._length_sums[0] -= features.word_length
        self._length_sums[1] -= features.bigram_length
        self._alive[doc] = False
        self._keys[doc] = None
        if doc < self._base.n_docs:
            self._base_dead.add(doc)
        return True

    def nbytes(self) -> int:
        """Memory held by the numpy arrays of the index (not the Python-level dicts)."""
        return self._base.nbytes() + int(self._df.nbytes + self._alive.nbytes + self._flags.nbytes)

    # reads

    def search(
        self,
        query_tokens: Mapping[str, list[str]],
        *,
        limit: int = 10,
        where: Where | None = None,
    ) -> list[Match]:
        """The best ``limit`` documents for the query (that pass ``where``), best first."""
        if limit <= 0:
            return []
        with self._lock:
            query = build_query(query_tokens, self._vocab, self._df, len(self), self)
            if query is None:
                return []
            accept = self._acceptor(where)
            hits = search_base(self._base, query, limit, accept, self._base_dead)
            hits += search_delta(self._delta, query, limit, accept, self._alive, self)
            hits.sort(key=lambda h: (-h[0], h[1]))
            out: list[Match] = []
            for raw, doc in hits[:limit]:
                key = self._keys[doc]
                assert key is not None
                terms = explain(query, self._doc_weights(doc), self.config.explain_terms)
                out.append(Match(key, min(1.0, raw / query.self_score), terms))
            return out

    def _acceptor(self, where: Where | None) -> Callable[[int], bool] | None:
        if where is None:
            return None
        meta = self._meta
        return lambda doc: bool(where(meta[doc]))

    def _doc_weights(self, doc: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        if doc < self._base.n_docs:
            return self._base.doc_row(doc)
        return self.delta_weights(self._delta.docs[doc])

    def averages(self) -> tuple[float, float]:
        """Average view lengths: those of the base once built, else of the live corpus."""
        if self._base.n_docs:
            return self._base.averages
        n = max(len(self), 1)
        return self._length_sums[0] / n, self._length_sums[1] / n

    def delta_weights(
        self, features: DocFeatures
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        from app.matching.scoring import bm25_tf

        flags = self._flags[features.ids]
        avg_word, avg_bigram = self.averages()
        ratio = np.where(
            flags,
            features.bigram_length / max(avg_bigram, 1e-6),
            features.word_length / max(avg_word, 1e-6),
        ).astype(np.float32)
        return features.ids, bm25_tf(features.tf, ratio, self.config)
