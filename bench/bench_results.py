"""The benchmarks' machine-readable results: ``--json PATH`` on each script writes its medians
there, for ``bench/all.py`` (one command, one table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_results(path: str | Path | None, bench: str, results: dict[str, Any]) -> None:
    """Write ``results`` (medians, the baseline measured in the same run, the run count)
    as ``{"bench": ..., "results": ...}``; nothing when ``path`` is None."""
    if path is None:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"bench": bench, "results": results}, indent=1), "utf-8")


def read_results(path: str | Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text("utf-8"))["results"]
    return data
