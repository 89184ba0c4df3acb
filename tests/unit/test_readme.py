from __future__ import annotations

from pathlib import Path

from handler.config import VARIABLES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_configuration_variable_is_documented() -> None:
    missing = [name for name, _, _ in VARIABLES if f"| `{name}` |" not in README]
    assert missing == []
