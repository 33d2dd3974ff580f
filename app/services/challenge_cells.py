"""How a challenge's lists and times are written in one spreadsheet cell, and read back.

Indicators: `名称|目标值|单位` per indicator, indicators joined by `；` (trailing empty parts
left out: `纯度|≥99.99|%；密度|≥2.1|g/cm³；外观`). Tags joined by `、`. A separator that is
part of a value is escaped with a backslash (`\\|`, `\\；`, `\\、`), and so is a backslash, so
every value, full-width characters included, reads back exactly. Reading also accepts what
people type: `;`, `｜` and line breaks in indicators, `,` and `，` between tags, and a
backslash before any other character is kept as it is.

Times: written as ISO 8601 in China time (`2027-03-31T17:00:00+08:00`); read with any zone,
and a time without one (what Excel makes of a typed date) is China time.
"""

from datetime import datetime
from typing import Any

from app import db

ESCAPE = "\\"
INDICATOR_SEPARATOR = "；"
INDICATOR_SEPARATORS = frozenset({"；", ";", "\n"})
PART_SEPARATOR = "|"
PART_SEPARATORS = frozenset({"|", "｜"})
TAG_SEPARATOR = "、"
TAG_SEPARATORS = frozenset({"、", ",", "，", "\n"})
INDICATOR_PARTS = ("name", "target", "unit")
# A CSV cell Excel would run as a formula starts with one of these: written with a leading
# apostrophe (Excel shows the text), which reading a CSV takes off again. In XLSX, text is text.
FORMULA_STARTS = frozenset("=+-@'")


class CellError(ValueError):
    """A cell that cannot be read (the message is Chinese)."""


def _escape(value: str, specials: frozenset[str]) -> str:
    return "".join(ESCAPE + char if char in specials or char == ESCAPE else char for char in value)


def _split(
    text: str, separators: frozenset[str], specials: frozenset[str], parts: frozenset[str]
) -> list[list[str]]:
    """`text` cut at unescaped `separators` into entries, each cut at unescaped `parts`.

    An escaped special (or backslash) is the character itself; a backslash before anything
    else is kept, as someone typed it.
    """
    entries: list[list[str]] = []
    entry: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == ESCAPE:
            following = next(chars, "")
            if following != ESCAPE and following not in specials:
                current.append(char)
            current.append(following)
        elif char in parts:
            entry.append("".join(current))
            current = []
        elif char in separators:
            entries.append([*entry, "".join(current)])
            entry, current = [], []
        else:
            current.append(char)
    entries.append([*entry, "".join(current)])
    return entries


_INDICATOR_SPECIALS = INDICATOR_SEPARATORS - {"\n"} | PART_SEPARATORS
_TAG_SPECIALS = TAG_SEPARATORS - {"\n"}


def indicators_cell(indicators: list[dict[str, Any]]) -> str:
    out = []
    for indicator in indicators:
        parts = [
            _escape(str(indicator.get(key, "")), _INDICATOR_SPECIALS) for key in INDICATOR_PARTS
        ]
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        out.append(PART_SEPARATOR.join(parts))
    return INDICATOR_SEPARATOR.join(out)


def read_indicators(cell: str) -> list[dict[str, str]]:
    """The indicators of a cell; a `CellError` names the one with too many parts."""
    out = []
    entries = _split(cell, INDICATOR_SEPARATORS, _INDICATOR_SPECIALS, PART_SEPARATORS)
    for number, parts in enumerate((e for e in entries if "".join(e).strip()), start=1):
        if len(parts) > len(INDICATOR_PARTS):
            raise CellError(f"第 {number} 项指标应为“名称|目标值|单位”，多了“|”")
        padded = [*parts, "", ""][: len(INDICATOR_PARTS)]
        out.append(dict(zip(INDICATOR_PARTS, padded, strict=True)))
    return out


def tags_cell(tags: list[str]) -> str:
    return TAG_SEPARATOR.join(_escape(tag, _TAG_SPECIALS) for tag in tags)


def read_tags(cell: str) -> list[str]:
    entries = _split(cell, TAG_SEPARATORS, _TAG_SPECIALS, frozenset())
    return [tag for (tag,) in entries if tag.strip()]


def time_cell(value: datetime) -> str:
    return value.astimezone(db.CHINA).isoformat()


def read_time(cell: str) -> datetime | str:
    """The time of a cell (China time when it names no zone); the text itself if unreadable,
    for the schema to refuse in its own words."""
    try:
        value = datetime.fromisoformat(cell)
    except ValueError:
        return cell
    return value.replace(tzinfo=db.CHINA) if value.tzinfo is None else value


def csv_text(value: str) -> str:
    """A text cell for CSV: one Excel would read as a formula gets a leading apostrophe."""
    return "'" + value if value[:1] in FORMULA_STARTS else value


def read_csv_text(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_STARTS else cell
