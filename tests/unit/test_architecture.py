"""The shape the code keeps: entries are thin and nothing imports them; settings are read in one place."""

from __future__ import annotations

import ast
from pathlib import Path

HANDLER = Path(__file__).resolve().parents[2] / "handler"


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_nothing_imports_the_lambda_entries() -> None:
    importers = [
        str(p.relative_to(HANDLER))
        for p in HANDLER.rglob("*.py")
        if p.name != "app.py" and "handler.app" in imports_of(p)
    ]
    assert importers == []


def test_the_check_sees_an_import_of_the_entries(tmp_path: Path) -> None:
    for source in ("from handler.app import get_runtime\n", "from handler import app\n", "import handler.app\n"):
        (tmp_path / "m.py").write_text(source)
        assert "handler.app" in imports_of(tmp_path / "m.py")


def test_environment_read_only_by_settings() -> None:
    # sinks/opensearch.py reads Lambda's own credential variables (not settings) to keep botocore off the cold path.
    allowed = {"config.py", "sinks/opensearch.py"}
    readers = [
        str(p.relative_to(HANDLER))
        for p in HANDLER.rglob("*.py")
        if ("os.environ" in p.read_text(encoding="utf-8") or "getenv" in p.read_text(encoding="utf-8"))
        and str(p.relative_to(HANDLER)) not in allowed
    ]
    assert readers == []
