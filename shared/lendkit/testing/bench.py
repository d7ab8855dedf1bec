"""The repository's ``bench/`` scripts as modules, for the tests that check them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

#: The checkout's root (``shared/lendkit/testing/`` is three folders below it).
ROOT = Path(__file__).resolve().parents[3]


def bench_module(name: str) -> ModuleType:
    """``bench/<name>.py`` loaded as module ``bench_<name>`` (once per process), with
    ``bench/`` on the import path as when the script runs (its sibling modules)."""
    module_name = f"bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    if str(ROOT / "bench") not in sys.path:
        sys.path.append(str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
