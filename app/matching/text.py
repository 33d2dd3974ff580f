"""Text to tokens: normalisation, jieba segmentation with the domain dictionary, synonyms."""

from __future__ import annotations

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
        self._lock = threading.Lock()
        if synonyms:
            self.set_synonyms(synonyms)

    @property
    def segmenter(self) -> JiebaSegmenter:
        return self._segmenter

    @property
    def synonyms(self) -> Mapping[str, str]:
        return dict(self._synonyms)

    def add_terms(self, terms: Iterable[str]) -> None:
        """Add dictionary terms at run time; the next tokenize() call uses them."""
        self._segmenter.add_words(normalize(t).strip() for t in terms)

    def set_synonyms(self, mapping: Mapping[str, str]) -> None:
        """Replace the synonym table (synonym -> canonical term)."""
        table = {normalize(k).strip(): normalize(v).strip() for k, v in mapping.items()}
        table = {k: v for k, v in table.items() if k and v and k != v}
        with self._lock:
            self._segmenter.add_words([*table, *table.values()])
            self._synonyms = table

    def segment(self, text: str) -> list[str]:
        """Raw jieba tokens of the normalised text (whitespace and punctuation included)."""
        return self._segmenter.cut(normalize(text))

    def tokenize(self, text: str) -> list[str]:
        """The indexable tokens of ``text``: no stopwords, punctuation or bare numbers."""
        return clean_tokens(self.segment(text), self._synonyms)


def clean_tokens(raw: list[str], synonyms: Mapping[str, str]) -> list[str]:
    """Filter segmenter output and glue numbers to their units."""
    stop = stopwords()
    out: list[str] = []
    pending_number: str | None = None
    for token in raw:
        if pending_number is not None:
            number, pending_number = pending_number, None
            if token in UNITS:
                out.append(number + token)
                continue
        if RE_NUMBER.fullmatch(token):
            pending_number = token  # a bare number is only kept with a unit after it
            continue
        if token in stop or not RE_WORD.search(token):
            continue
        out.append(synonyms.get(token, token))
    return out
