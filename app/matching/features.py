"""Documents as stored tokens (DocTokens): analysed fields, merged queries, field weights.

DocTokens, ``{field: [token, ...]}``, is what the service stores beside each document (JSON),
so a restart rebuilds the index without segmenting again. The index derives its terms from
it deterministically (``vocabulary.py``): field-weighted counts of the words, plus two
character views of the Chinese text: the character bigrams inside each word and across
adjacent words, and the single characters. They let a query match a paper that writes a term
differently (``神经网络模型`` against ``神经网络`` and ``模型``, ``红薯`` against ``甘薯``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.matching.text import Tokenizer

DocTokens = dict[str, list[str]]

# Short fields say what a document is about more densely than its prose: a tag or title
# word counts as two description words (BM25F-style field weighting).
FIELD_WEIGHTS: Mapping[str, float] = {
    "title": 2.0,
    "tags": 2.0,
    "indicators": 1.5,
    "description": 1.0,
}
DEFAULT_FIELD = "description"


def analyze(fields: Mapping[str, str | None], tokenizer: Tokenizer) -> DocTokens:
    """Tokenise each non-empty field; unknown fields count as description."""
    out: DocTokens = {}
    for name, text in fields.items():
        if not text:
            continue
        field = name if name in FIELD_WEIGHTS else DEFAULT_FIELD
        tokens = tokenizer.tokenize(text)
        if tokens:
            out.setdefault(field, []).extend(tokens)
    return out


def analyze_many(
    items: Iterable[Mapping[str, str | None]],
    tokenizer: Tokenizer,
    *,
    processes: int = 2,
) -> list[DocTokens]:
    """``analyze`` for many documents (bulk re-segmentation), segmenting on ``processes``
    worker processes; the result equals ``[analyze(f, tokenizer) for f in items]``."""
    docs = [[(name, text) for name, text in fields.items() if text] for fields in items]
    texts = [str(text) for doc in docs for _, text in doc]
    tokens = iter(tokenizer.tokenize_many(texts, processes=processes))
    out: list[DocTokens] = []
    for doc in docs:
        result: DocTokens = {}
        for name, _ in doc:
            field = name if name in FIELD_WEIGHTS else DEFAULT_FIELD
            found = next(tokens)
            if found:
                result.setdefault(field, []).extend(found)
        out.append(result)
    return out


def merge_tokens(docs: Iterable[Mapping[str, list[str]]]) -> DocTokens:
    """One query from several documents, e.g. all of an organisation's capabilities."""
    out: DocTokens = {}
    for doc in docs:
        for field, tokens in doc.items():
            out.setdefault(field, []).extend(tokens)
    return out
