"""Text to tokens: normalisation, jieba segmentation with the domain dictionary, synonyms."""

from __future__ import annotations

import multiprocessing
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources

from app.matching.segment import JiebaSegmenter

MAX_TEXT_CHARS = 20_000  # jieba costs ~6 us a character: cap what one text can cost.

# Units that stay glued to the number before them: "3.5" "mm" -> "3.5mm".
UNITS = frozenset(
    "mm cm m km nm um μm kg g mg t kw mw w kwh v kv a ma hz khz mhz ghz mpa gpa kpa pa "
    "°c ℃ % l ml db ppm kb mb gb tb bit 吨 千克 公斤 克 毫克 米 毫米 厘米 千米 公里 微米 纳米 "
    "瓦 千瓦 兆瓦 伏 千伏 安 赫兹 度 亩 公顷 升 毫升 万吨 万元 亿元".split()
)
RE_NUMBER = re.compile(r"\d+(?:\.\d+)?")
RE_WORD = re.compile(r"[^\W_]")  # a token with no letter, digit or hanzi is noise


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, capped length."""
    return unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).lower()


def _read_lines(name: str) -> list[str]:
    data = (
        resources.files("app.matching").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    )
    return [s for line in data.splitlines() if (s := line.strip()) and not s.startswith("#")]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(normalize(w) for w in _read_lines("stopwords.txt"))


@lru_cache(maxsize=1)
def domain_terms() -> tuple[str, ...]:
    """The domain dictionary shipped with the app (city-plan industries)."""
    return tuple(normalize(w) for w in _read_lines("domain_terms.txt"))


class Tokenizer:
    """Segments text into the tokens the matcher indexes; safe to share between threads.

    ``synonyms`` maps a synonym to its canonical term and is applied after segmentation;
    both sides are added to the dictionary so that jieba keeps them whole. The shipped domain
    dictionary is always loaded first. The heavy part (the segmenter's dictionary) loads on
    first use, not at construction.
    """

    def __init__(
        self,
        extra_terms: Iterable[str] = (),
        synonyms: Mapping[str, str] | None = None,
        *,
        use_domain_dictionary: bool = True,
    ) -> None:
        base = list(domain_terms()) if use_domain_dictionary else []
        self._segmenter = JiebaSegmenter(base + [normalize(t).strip() for t in extra_terms])
        self._synonyms: dict[str, str] = {}
        self._clean_cache: dict[str, object] = {}  # replaced with the synonyms
        self._lock = threading.Lock()
        if synonyms:
            self.set_synonyms(synonyms)

    @property
    def segmenter(self) -> JiebaSegmenter:
        return self._segmenter

    def set_synonyms(self, mapping: Mapping[str, str]) -> None:
        """Replace the synonym table (synonym -> canonical term)."""
        table = {normalize(k).strip(): normalize(v).strip() for k, v in mapping.items()}
        table = {k: v for k, v in table.items() if k and v and k != v}
        with self._lock:
            self._segmenter.add_words([*table, *table.values()])
            self._synonyms, self._clean_cache = table, {}

    def segment(self, text: str) -> list[str]:
        """Raw jieba tokens of the normalised text (whitespace and punctuation included)."""
        return self._segmenter.cut(normalize(text))

    def tokenize(self, text: str) -> list[str]:
        """The indexable tokens of ``text``: no stopwords, punctuation or bare numbers."""
        return clean_tokens(self.segment(text), self._synonyms, self._clean_cache)

    def tokenize_many(
        self, texts: Iterable[str], *, processes: int = 2, chunksize: int = 32
    ) -> list[list[str]]:
        """``tokenize`` for many texts on ``processes`` worker processes (for this call only)
        with the same words and synonyms, so the tokens are identical."""
        items = list(texts)
        if processes <= 1 or len(items) < 4 * chunksize:
            return [self.tokenize(t) for t in items]
        # fork is safe only while this process has a single thread (no lock can be held by
        # another thread at the fork); otherwise spawn fresh interpreters (slower start-up).
        single = threading.active_count() == 1
        method = "fork" if single and "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        global _worker
        if method == "fork":  # the workers inherit this tokenizer, dictionary loaded
            self.segment("")
            _worker = self
            with context.Pool(processes) as pool:
                packed = pool.map(_worker_tokenize, items, chunksize)
            _worker = None
        else:
            setup = (self._segmenter.words, dict(self._synonyms))
            with context.Pool(processes, initializer=_start_worker, initargs=setup) as pool:
                packed = pool.map(_worker_tokenize, items, chunksize)
        return [p.split(_SEPARATOR) if isinstance(p, str) else p for p in packed]


_worker: Tokenizer | None = None


def _start_worker(words: tuple[str, ...], synonyms: dict[str, str]) -> None:
    global _worker
    _worker = Tokenizer(words, use_domain_dictionary=False)
    # Already normalised, and their words are in ``words``.
    _worker._synonyms, _worker._clean_cache = synonyms, {}


_SEPARATOR = "\x00"


def _worker_tokenize(text: str) -> str | list[str]:
    """The tokens joined into one string: far cheaper to send back than a list of strings."""
    assert _worker is not None
    tokens = _worker.tokenize(text)
    if not tokens or any(_SEPARATOR in t for t in tokens):
        return tokens
    return _SEPARATOR.join(tokens)


_NUMBER = object()  # classification of a bare number token


def clean_tokens(
    raw: list[str], synonyms: Mapping[str, str], cache: dict[str, object] | None = None
) -> list[str]:
    """Filter segmenter output and glue numbers to their units.

    ``cache`` (token -> its kept form, None to drop it, or the number marker) saves the
    regular expressions and set lookups on tokens already seen; it must be specific to
    ``synonyms``."""
    stop = stopwords()
    out: list[str] = []
    pending_number: str | None = None
    known = cache if cache is not None else {}
    for token in raw:
        kind = known.get(token, known)
        if kind is known:
            if RE_NUMBER.fullmatch(token):
                kind = _NUMBER
            elif token in stop or not RE_WORD.search(token):
                kind = None
            else:
                kind = synonyms.get(token, token)
            if cache is not None and len(cache) < 500_000:
                cache[token] = kind
        if pending_number is not None:
            number, pending_number = pending_number, None
            if token in UNITS:
                out.append(number + token)
                continue
        if kind is _NUMBER:
            pending_number = token  # a bare number is only kept with a unit after it
        elif kind is not None:
            out.append(kind)  # type: ignore[arg-type]
    return out
