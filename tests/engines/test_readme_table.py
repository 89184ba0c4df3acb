"""The README's supported-engines table names exactly the engines `make test-engines` runs (tests/engines/matrix.py),
with the versions as CI runs them; runs in `make test` (no engine needed)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.engines.matrix import ENGINES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_engines_table_matches_the_matrix() -> None:
    section = README.split("## Supported engines", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ((?:OpenSearch|Elasticsearch) [0-9.]+) \| yes", section, flags=re.M)
    assert rows == [spec.title for spec in ENGINES]
    refused = [spec.title for spec in ENGINES if spec.refused]
    for title in refused:
        assert re.search(rf"^\| {re.escape(title)} \| yes \| refused", section, flags=re.M), title
