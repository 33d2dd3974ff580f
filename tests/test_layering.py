"""Imports point down only: routers → services → models/schemas/errors/matching."""

import ast
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

MATCHING_ALLOWED = {"jieba", "rjieba", "numpy", "scipy", "sklearn", "app"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((APP / package).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("services"), ids=lambda p: p.name)
def test_services_know_nothing_of_http(path: Path) -> None:
    bad = {n for n in _imports(path) if n.split(".")[0] in {"fastapi", "starlette"}}
    bad |= {n for n in _imports(path) if n.startswith("app.routers")}
    assert not bad


@pytest.mark.parametrize("path", _modules("models"), ids=lambda p: p.name)
def test_models_import_neither_schemas_nor_services(path: Path) -> None:
    assert not {
        n for n in _imports(path) if n.startswith(("app.schemas", "app.services", "app.routers"))
    }


@pytest.mark.parametrize("path", _modules("matching"), ids=lambda p: p.name)
def test_matching_uses_only_the_standard_library_and_numeric_packages(path: Path) -> None:
    # The benchmark measures bm25s as the reference, in the same run.
    allowed = MATCHING_ALLOWED | ({"bm25s"} if path.name == "bench.py" else set())
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "app":
            assert name.startswith("app.matching"), name
        else:
            assert top in sys.stdlib_module_names or top in allowed, name


def test_only_main_imports_routers() -> None:
    for path in APP.rglob("*.py"):
        if path.parent.name == "routers" or path.name == "main.py":
            continue
        assert not {n for n in _imports(path) if n.startswith("app.routers")}, path
