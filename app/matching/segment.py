"""Fast segmentation that yields exactly the tokens of jieba 0.42.1's ``cut(HMM=True)``.

jieba is ~0.6 MB/s here; rjieba (jieba-rs, same dictionary and HMM) is 10x faster and equal
to jieba on runs of Chinese characters, but it keeps ASCII runs such as ``auth-username``
whole where jieba splits them. So this module runs jieba's own outer loop in Python, sends
each maximal run of Chinese characters to rjieba and splits ASCII runs with jieba's HMM-stage
rule. That is exact because ASCII characters are single-character nodes in jieba's word graph
and cannot change the best path through the neighbouring Chinese run, unless a dictionary
word contains ASCII (``c++``, ``4s店``, a domain term like ``5g基站``): blocks containing such
a word go to a real ``jieba.Tokenizer`` instead. ``python -m benchmarks.evaluate --segmentation``
checks the equality on a whole corpus.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba

# jieba 0.42.1's own expressions (jieba/__init__.py and jieba/finalseg/__init__.py).
RE_BLOCK = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)")
RE_SKIP = re.compile(r"(\r\n|\s)")
RE_HMM_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
RE_HAN_RUN = re.compile(r"([\u4E00-\u9FD5]+)")
RE_NON_HAN = re.compile(r"[^\u4E00-\u9FD5]")
RE_ASCII_TOKEN = re.compile(r"[a-zA-Z0-9+#&\._%\-]+")
# An ASCII run that jieba does not keep whole: rjieba may group it differently.
RE_ODD_ASCII = re.compile(r"[a-zA-Z0-9][+#&\._%\-]|[+#&\._%\-][a-zA-Z0-9+#&\._%\-]")
# Characters in jieba-rs's Chinese range but outside jieba's (\u4E00-\u9FD5).
RE_RJIEBA_ONLY_HAN = re.compile(
    "([\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002ebef"
    "\U0002f800-\U0002fa1f])"
)


@lru_cache(maxsize=1)
def _base_jieba() -> jieba.Tokenizer:
    """jieba's default dictionary, loaded once per process (about 1 s) and never mutated."""
    import jieba as jieba_module

    tokenizer = jieba_module.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@lru_cache(maxsize=1)
def _builtin_ascii_words() -> tuple[str, ...]:
    """Lower-case dictionary words that contain ASCII, e.g. ``c++``; text is lower-cased."""
    import os

    import jieba as jieba_module

    path = os.path.join(os.path.dirname(jieba_module.__file__), "dict.txt")
    words: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            word = line.split(" ", 1)[0]
            if word == word.lower() and RE_NON_HAN.search(word) and RE_BLOCK.fullmatch(word):
                words.append(word)
    return tuple(words)


class JiebaSegmenter:
    """jieba-identical segmentation with extra dictionary words; safe to share between threads.

    Readers use an immutable snapshot (the rjieba instance and the fallback pattern); adding
    words builds a new snapshot under a lock and swaps it in.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._words: list[str] = []
        self._fast: object = None
        self._ascii_words: frozenset[str] = frozenset()
        self._reference: jieba.Tokenizer | None = None
        self._reference_lock = threading.Lock()
        self._pending = list(dict.fromkeys(w for w in words if w))
        self._ready = False

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self._words) + tuple(self._pending)

    def add_words(self, words: Iterable[str]) -> None:
        """Add dictionary words (already normalised); words already known are ignored."""
        with self._lock:
            known = set(self._words) | set(self._pending)
            new = [w for w in dict.fromkeys(words) if w and w not in known]
            if not new:
                return
            self._pending.extend(new)
            if self._ready:
                self._rebuild()

    def _ensure(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self._rebuild()
                    self._ready = True

    def _rebuild(self) -> None:
        import rjieba

        words = self._words + self._pending
        fast = rjieba.Jieba()
        for word in words:
            fast.add_word(word, None, None)
        ascii_words = frozenset(
            w for w in (*words, *_builtin_ascii_words()) if RE_ASCII_TOKEN.fullmatch(w)
        )
        with self._reference_lock:
            if self._reference is not None:
                for word in self._pending:
                    self._reference.add_word(word)
        self._words = words
        self._pending = []
        self._fast, self._ascii_words = fast, ascii_words

    def _reference_tokenizer(self) -> jieba.Tokenizer:
        """A private jieba with our words, copied from the shared base without reloading."""
        if self._reference is None:
            import jieba as jieba_module

            base = _base_jieba()
            reference = jieba_module.Tokenizer()
            reference.FREQ = dict(base.FREQ)
            reference.total = base.total
            reference.initialized = True
            for word in self._words:
                reference.add_word(word)
            self._reference = reference
        return self._reference

    def reference_cut(self, text: str) -> list[str]:
        """Plain jieba with the same words: the slow reference the fast path must equal."""
        self._ensure()
        with self._reference_lock:
            return list(self._reference_tokenizer().cut(text, HMM=True))

    def cut(self, text: str) -> list[str]:
        """Segment ``text`` exactly as jieba would, whitespace and punctuation included."""
        self._ensure()
        fast, ascii_words = self._fast, self._ascii_words
        if RE_RJIEBA_ONLY_HAN.search(text) is None:
            return _fix_ascii(fast.cut(text, True), text, ascii_words)  # type: ignore[attr-defined]
        # Characters that rjieba counts as Chinese but jieba does not are hard boundaries
        # for jieba, each a token of its own.
        out: list[str] = []
        for piece in RE_RJIEBA_ONLY_HAN.split(text):
            if not piece:
                continue
            if RE_RJIEBA_ONLY_HAN.fullmatch(piece):
                out.append(piece)
            else:
                out.extend(_fix_ascii(fast.cut(piece, True), piece, ascii_words))  # type: ignore[attr-defined]
        return out


def _fix_ascii(tokens: list[str], text: str, ascii_words: frozenset[str]) -> list[str]:
    """Re-split rjieba's ASCII tokens the way jieba's HMM stage splits an ASCII run."""
    if RE_ODD_ASCII.search(text) is None:
        return tokens
    out: list[str] = []
    run: list[str] = []
    for token in tokens:
        if RE_ASCII_TOKEN.fullmatch(token) and token not in ascii_words:
            run.append(token)
            continue
        if run:
            out.extend(p for p in RE_HMM_SKIP.split("".join(run)) if p)
            run = []
        out.append(token)
    if run:
        out.extend(p for p in RE_HMM_SKIP.split("".join(run)) if p)
    return out
