"""The JSON definitions in `mappings/`, found next to the package (Lambda asset) or at the repository root."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_CANDIDATES = (_HERE / "_mappings", _HERE.parent / "mappings")


def mappings_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mappings folder not found in {', '.join(map(str, _CANDIDATES))}")


@cache
def _load(name: str) -> Any:
    return json.loads((mappings_dir() / name).read_text(encoding="utf-8"))


def index_template(prefix: str) -> dict[str, Any]:
    """The composable index template, its pattern rewritten for `prefix`."""
    body = copy.deepcopy(_load("index-template.json"))
    body["index_patterns"] = [f"{prefix}-*"]
    return dict(body)
