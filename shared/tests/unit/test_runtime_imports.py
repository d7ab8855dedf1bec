"""``lendkit``'s runtime modules import no development-only package.

A service image installs the kit without its test extras: a runtime module that imported
pytest, hypothesis or schemathesis (even by accident, through a helper) would fail there.
Every module under ``lendkit`` but ``lendkit.testing`` is imported in a fresh interpreter
and none of those packages may have been loaded.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import lendkit

DEV_ONLY = ("pytest", "_pytest", "hypothesis", "schemathesis")


def runtime_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(lendkit.__path__, prefix="lendkit."):
        if info.name == "lendkit.testing" or info.name.startswith("lendkit.testing."):
            continue
        if info.name.endswith(".__main__"):
            continue  # runs the command line when imported
        names.append(info.name)
    return sorted(names)


def test_the_walk_finds_the_kit() -> None:
    names = runtime_modules()
    assert {"lendkit.consumer", "lendkit.outbox.relay", "lendkit.runtime"} <= set(names)
    assert not [n for n in names if n.startswith("lendkit.testing")]


def test_runtime_modules_import_no_dev_only_package() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {runtime_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({DEV_ONLY!r}))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], f"runtime lendkit modules pulled in dev-only packages: {loaded}"
