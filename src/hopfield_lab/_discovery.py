"""Import every submodule of a package, so that modules register themselves on import.

Experiments and benchmarks register into name-keyed registries when their module is imported;
a package's ``__init__`` calls :func:`import_submodules` so that a new file is picked up
without editing a list (and two people adding files never touch the same line).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["import_submodules"]


def import_submodules(package: str, *, skip: tuple[str, ...] = ()) -> dict[str, ModuleType]:
    """Import the direct submodules and subpackages of ``package`` in sorted order.

    Args:
        package: dotted name of an imported package.
        skip: short names not to import (e.g. shared helpers already imported).

    Returns:
        ``{short_name: module}`` for every submodule imported, private ones (``_name``)
        excluded.
    """
    pkg = importlib.import_module(package)
    names = sorted(info.name for info in pkgutil.iter_modules(pkg.__path__))
    return {
        name: importlib.import_module(f"{package}.{name}")
        for name in names
        if not name.startswith("_") and name not in skip
    }
