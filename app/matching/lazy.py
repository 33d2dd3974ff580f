"""`kernels`: app.matching.kernels, imported on first use.

Importing numba costs ~0.3 s of CPU (more on a loaded machine), and every start of the
service paid it before serving anything; now the start-up warm-up thread pays it.
"""

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A module that is imported when one of its attributes is first read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


kernels = LazyModule("app.matching.kernels")
