"""`q` search: title or description contains the text, case-folded by the database's lower().

The meaning is the same everywhere: `lower(title) LIKE '%q%' OR lower(description) LIKE '%q%'`
(the text taken literally, `%` and `_` included). On SQLite that is the SQL sent. On PostgreSQL
the condition is written so that a GIN index serves it (docs/performance.md, "Volume"):
`search_grams(title, description)` is the set of two-character substrings (bigrams) of the
lower-cased title and description, indexed by an expression index the migrations create.

- Two characters: the text is one bigram, and containing it IS the condition, so the index
  answers alone (`grams @> ARRAY['钢铁']`), page and count.
- Three or more: every bigram of the text must be there (the index narrows the rows), and the
  LIKE then checks the few candidates.
- One character: no bigram; the plain LIKE.

The index is part of the table: a row written is found by the very next statement.
"""

from typing import Any

from sqlalchemy import ColumnElement, Text, bindparam, func, literal, or_, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

GRAMS_FUNCTION = "search_grams"


class TextContains(ColumnElement[bool]):
    """`title` or `description` contains `q` (lower-cased on both sides)."""

    type = Boolean()
    inherit_cache = True
    # Everything the SQL depends on: the columns, the two parameters (their values are taken
    # from the statement at each run, also when its compiled form comes from the cache) and
    # the length class, which decides the statement's shape.
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        ("title_column", InternalTraversal.dp_clauseelement),
        ("description_column", InternalTraversal.dp_clauseelement),
        ("text", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("length", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, title: ColumnElement[str], description: ColumnElement[str], q: str):
        self.title_column = title
        self.description_column = description
        self.text = bindparam(None, q, type_=Text())
        # What `icontains(q, autoescape=True)` sends: q with the LIKE wildcards escaped.
        escaped = q.replace("/", "//").replace("%", "/%").replace("_", "/_")
        self.pattern = bindparam(None, escaped, type_=Text())
        self.length = min(len(q), 3)

    def as_like(self) -> ColumnElement[bool]:
        return or_(
            self.title_column.icontains(self.pattern, escape="/"),
            self.description_column.icontains(self.pattern, escape="/"),
        )


def text_contains(title: Any, description: Any, q: str) -> ColumnElement[bool]:
    """The `q` filter on a model's title and description."""
    return TextContains(title, description, q)


@compiles(TextContains)
def _compile_like(element: TextContains, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.as_like(), **kw)})"


@compiles(TextContains, "postgresql")
def _compile_grams(element: TextContains, compiler: SQLCompiler, **kw: Any) -> str:
    if element.length < 2:
        return _compile_like(element, compiler, **kw)
    grams = getattr(func, GRAMS_FUNCTION)
    indexed = grams(element.title_column, element.description_column).op("@>")(
        grams(element.text, literal("", Text()))
    )
    if element.length == 2:
        return f"({compiler.process(indexed, **kw)})"
    return f"({compiler.process(indexed & element.as_like(), **kw)})"


def prefer_search_index(session: Session, q: str | None) -> None:
    """Before a list filtered by `q` on PostgreSQL: no sequential scan for this transaction.

    The planner charges the function's cost (COST 5000) to every row the GIN index returns,
    as if each were checked again; for a term in most rows (技术) a sequential scan that
    computes the bigrams of every row then looks as cheap, and was chosen or not depending
    on ANALYZE's sample: 4 s instead of 60 ms for the count (docs/performance.md, "Volume").
    """
    if q and len(q) >= 2 and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL enable_seqscan = off"))


def checked_row_by_row(q: str | None) -> bool:
    """Whether the `q` filter reads each candidate row (all but a two-character text on
    PostgreSQL, whose index alone answers): then count and page are best read in one pass."""
    return bool(q) and len(q or "") != 2
