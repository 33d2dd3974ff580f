"""The runtime lock holds what the service imports, and the service imports no dev-only tool."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Distribution name → the module the service imports it as.
IMPORT_NAMES = {
    "argon2-cffi": "argon2",
    "psycopg": "psycopg",
    "pydantic-settings": "pydantic_settings",
    "pyjwt": "jwt",
    "fastapi-offline": "fastapi_offline",
    "scikit-learn": "sklearn",
}
# Needed at run time although no module of ours imports them: named by a command or a URL.
NOT_IMPORTED = {
    "uvicorn": "the server the Makefile and the Dockerfile run",
    "psycopg": "the PostgreSQL driver that DATABASE_URL names (postgresql+psycopg://)",
    "python-multipart": "FastAPI's form parser (sign-in and the OAuth2 form)",
}
# Tools of the dev lock that only the evaluation and benchmark commands may import.
DEV_ONLY = {"sklearn", "bm25s", "pytest", "httpx2"}
TOOLS = {ROOT / "app" / "matching" / "evaluate.py", ROOT / "app" / "matching" / "bench.py"}


def _requirements(name: str) -> list[str]:
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    found = []
    for line in lines:
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            found.append(re.split(r"[\[<>=!~ ]", line)[0].lower())
    return found


def _top_level_imports(paths: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def _service_modules() -> list[Path]:
    modules = [*(ROOT / "app").rglob("*.py"), *(ROOT / "migrations").rglob("*.py")]
    return [path for path in modules if path not in TOOLS]


def _unused(requirements: list[str], imported: set[str]) -> list[str]:
    return [
        name
        for name in requirements
        if name not in NOT_IMPORTED and IMPORT_NAMES.get(name, name) not in imported
    ]


def test_every_runtime_requirement_is_imported_by_the_service() -> None:
    unused = _unused(_requirements("requirements.in"), _top_level_imports(_service_modules()))
    assert unused == [], "move these to requirements-dev.in, or say in NOT_IMPORTED why not"


def test_the_service_imports_no_dev_only_tool() -> None:
    assert _top_level_imports(_service_modules()) & DEV_ONLY == set()


def test_the_check_sees_a_requirement_nobody_imports() -> None:
    imported = _top_level_imports(_service_modules())
    # xlrd is imported nowhere; scikit-learn only in evaluate.
    assert _unused(["numpy", "xlrd", "scikit-learn", "pyjwt"], imported) == [
        "xlrd",
        "scikit-learn",
    ]
