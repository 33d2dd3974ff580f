"""Every problem `code` the app can answer is in app.errors.CODES and in docs/api.md."""

import ast
import re
from pathlib import Path

from app.errors import CODES

ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _strings(node: ast.expr) -> list[str]:
    """The string constants of a `code` expression (a literal, or `"a" if ... else "b"`)."""
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _built(node: ast.expr) -> bool:
    """A code assembled at run time (f-string, concatenation): no scan can know its values."""
    return any(isinstance(n, ast.JoinedStr | ast.BinOp) for n in ast.walk(node))


def used_codes() -> tuple[dict[str, list[str]], list[str]]:
    """Codes used in app/ (code="..." arguments, class-level code = "...", problem(s, "...")),
    each with where; and the places that build a code at run time."""
    found: dict[str, list[str]] = {}
    built: list[str] = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(ROOT))
        expressions: list[tuple[ast.expr, int]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                expressions += [(k.value, node.lineno) for k in node.keywords if k.arg == "code"]
                name = node.func.id if isinstance(node.func, ast.Name) else None
                if name == "problem" and len(node.args) >= 2:
                    expressions.append((node.args[1], node.lineno))
            elif isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    targets = (
                        stmt.targets
                        if isinstance(stmt, ast.Assign)
                        else [stmt.target]
                        if isinstance(stmt, ast.AnnAssign) and stmt.value is not None
                        else []
                    )
                    value = getattr(stmt, "value", None)
                    # `code: str = Field(...)` declares a field (Problem.code), not a code.
                    if (
                        isinstance(value, ast.expr)
                        and not isinstance(value, ast.Call)
                        and any(isinstance(t, ast.Name) and t.id == "code" for t in targets)
                    ):
                        expressions.append((value, stmt.lineno))
        for expression, line in expressions:
            if _built(expression):
                built.append(f"{where}:{line}")
            for value in _strings(expression):
                found.setdefault(value, []).append(f"{where}:{line}")
    return found, built


def test_the_scan_finds_codes_of_each_kind() -> None:
    found, _ = used_codes()
    assert "challenge_not_found" in found  # code="..." argument
    assert "invalid_transition" in found  # class-level code = "..."
    assert "malformed_json" in found  # problem(422, "malformed_json", ...)
    assert {"capability_not_found", "result_not_found"} <= set(found)  # "a" if ... else "b"


def test_every_code_used_is_registered() -> None:
    found, built = used_codes()
    assert built == [], "write each code as a literal, so that it can be checked and documented"
    missing = {code: where for code, where in found.items() if code not in CODES}
    assert missing == {}, "add each to app.errors.CODES with its meaning"


def test_every_registered_code_is_used_and_well_formed() -> None:
    found, _ = used_codes()
    assert [c for c in CODES if not CODE.match(c)] == []
    assert [c for c in CODES if not CODES[c].strip()] == []
    # The registry itself is in app/errors.py but is no use: only calls and classes count.
    assert sorted(set(CODES) - set(found)) == []


def test_docs_list_every_registered_code() -> None:
    docs = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\|\s*`([a-z0-9_]+)`\s*\|", docs, flags=re.MULTILINE))
    assert sorted(set(CODES) - listed) == [], (
        "add a row `| `code` | status | meaning |` to docs/api.md"
    )
