"""The engines `make test-engines` runs, in order: the single list the runner and the README's table agree on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

# OpenSearch 3.x needs Java 21+; these machines carry Temurin 25 here (see the shared toolchain notes).
JAVA21_HOME = Path(os.environ.get("RDSAUDIT_JAVA21_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"))


class EngineSpec(NamedTuple):
    engine: str  # opensearch | elasticsearch
    version: str
    refused: bool = False  # rdsaudit must refuse it, with one clear message

    @property
    def label(self) -> str:
        return f"{self.engine}-{self.version}"

    @property
    def title(self) -> str:
        return f"{'OpenSearch' if self.engine == 'opensearch' else 'Elasticsearch'} {self.version}"

    @property
    def needs_java21(self) -> bool:
        return self.engine == "opensearch" and int(self.version.split(".")[0]) >= 3


ENGINES = (
    EngineSpec("opensearch", "1.3.20"),
    EngineSpec("opensearch", "2.19.6"),
    EngineSpec("opensearch", "3.8.0"),
    EngineSpec("elasticsearch", "7.10.2"),
    EngineSpec("elasticsearch", "7.7.1"),
    EngineSpec("elasticsearch", "6.8.23", refused=True),
)
