"""The README and docs/ cite nothing outside the repository: a clone holds what they name."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Paths that point outside any clone: the workspace this repo was written in, a sibling
# folder, a user's home, or the usual absolute roots of a file system.
OUTSIDE = [
    re.compile(r"\.\./shared"),
    re.compile(r"/work/"),
    re.compile(r"(?<![\w./-])shared/"),
    re.compile(r"(?<![\w/])~/"),
    re.compile(
        r"(?<![\w.:/~-])/(?:home|work|tmp|usr|opt|var|etc|root|Users|mnt|srv|data|private)/"
    ),
]
PARENT_PATH = re.compile(r"(?:\.\./)+[^\s)`'\"\]>|,;]*")


def outside_references(path: Path, root: Path = ROOT) -> list[str]:
    """Each line of `path` that names a path outside `root` (the repository), with its number."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        hits = [m.group(0) for pattern in OUTSIDE for m in pattern.finditer(line)]
        for relative in PARENT_PATH.findall(line):
            target = (path.parent / relative).resolve()
            if not target.is_relative_to(root):
                hits.append(relative)
        if hits:
            found.append(f"{path.name}:{number}: {hits} in {line.strip()!r}")
    return found


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_doc_cites_no_path_outside_the_repo(path: Path) -> None:
    assert outside_references(path) == []


def test_the_check_catches_what_was_there(tmp_path: Path) -> None:
    sample = tmp_path / "docs" / "sample.md"
    sample.parent.mkdir()
    sample.write_text(
        "See `../shared/PRODUCT.md`.\n"
        "python -m app.matching.evaluate /work/shared/data/eval/csl-dev\n"
        "quoted from `shared/FACTS.md`\n"
        "pip install --target /tmp/benchdeps x\n"
        "[up](../../elsewhere.md)\n"
        "fine: [readme](../README.md), `app/errors.py`, GET /api/v1/challenges,"
        " http://127.0.0.1:8000/docs, var/jiebang.db, 1/2\n",
        encoding="utf-8",
    )
    hits = outside_references(sample, root=tmp_path)
    assert [h.split(":")[1] for h in hits] == ["1", "2", "3", "4", "5"]
