"""Which engine answers, found once per ClusterSetup (GET /), and what follows from it: which template API, which
plugin paths, and whether rdsaudit can run there at all.

OpenSearch Serverless has no GET / (nor any cluster-level API); it is known from the settings instead
(OPENSEARCH_SERVICE=aoss), together with the collection type, which decides whether document ids are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handler.errors import UnsupportedEngine

OLDEST_SUPPORTED = "Elasticsearch 7.0 (any OpenSearch version)"

if TYPE_CHECKING:
    from handler.config import Settings


@dataclass(frozen=True)
class Engine:
    distribution: str  # opensearch | elasticsearch | aoss | unknown (GET / not allowed)
    number: str = ""  # the version the cluster reports; empty for aoss
    collection_type: str = "search"  # aoss only

    @property
    def version(self) -> tuple[int, ...]:
        parts = []
        for part in self.number.split("-")[0].split("."):
            if not part.isdigit():
                break
            parts.append(int(part))
        return tuple(parts)

    @property
    def serverless(self) -> bool:
        return self.distribution == "aoss"

    @property
    def legacy_templates(self) -> bool:
        """Composable templates (`_index_template`) came with Elasticsearch 7.8; before it only `_template`."""
        return self.distribution == "elasticsearch" and self.version < (7, 8)

    @property
    def plugin_prefix(self) -> str:
        """Security and ISM answer under `_opendistro` on Elasticsearch domains (Open Distro plugins) and under
        `_plugins` on OpenSearch (1.x still accepts `_opendistro` too; `_plugins` is the documented path)."""
        return "_opendistro" if self.distribution == "elasticsearch" else "_plugins"

    @property
    def generates_ids(self) -> bool:
        """Time series and vector search collections assign document ids themselves and reject ours."""
        return self.serverless and self.collection_type != "search"

    def check_detect(self) -> None:
        """The detect job writes each finding (and its own state) under an id of its own, a digest of (rule, key,
        window), so that a rerun or an overlapping window updates a finding instead of adding a second one: where
        the collection refuses our ids every run would fail, so it is refused before any request."""
        if self.generates_ids:
            raise UnsupportedEngine(
                f"detections cannot write findings to {self}: findings need their own document ids, which "
                f"{self.collection_type} collections refuse; the event rules still tag documents at ingest "
                "(search detections:*), window rules and findings need a search collection"
            )

    def __str__(self) -> str:
        if self.serverless:
            return f"OpenSearch Serverless ({self.collection_type} collection)"
        if self.distribution == "unknown":
            return "an engine whose version this user may not read"
        name = "OpenSearch" if self.distribution == "opensearch" else "Elasticsearch"
        return f"{name} {self.number}"

    def check_supported(self) -> None:
        if self.distribution == "elasticsearch" and self.version < (7,):
            # date_nanos and typeless bulk lines arrived in 7.0: 6.x would need typed bulk lines and a `date`
            # timestamp that loses the microsecond order of the audit records.
            raise UnsupportedEngine(
                f"{self} is not supported: the oldest supported engine is {OLDEST_SUPPORTED}. "
                "Upgrade the domain (Amazon OpenSearch Service upgrades 6.8 to 7.10 in place)."
            )


def parse_root(info: Any) -> Engine:
    """The engine from the answer of GET / (OpenSearch says `distribution: opensearch`; Elasticsearch does not)."""
    version = (info or {}).get("version") or {}
    distribution = "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"
    return Engine(distribution, str(version.get("number", "")))


def detect(client: Any) -> Engine:
    """GET / once; raises UnsupportedEngine for engines rdsaudit cannot write to.

    Two answers are not failures: 403, from a writer role set up before this release (without
    `cluster:monitor/main`), gives an engine of unknown version whose template API then answers for itself
    (ClusterSetup falls back to `_template` on 405); 404 is OpenSearch Serverless, which has no GET / (its
    collection type is not known here: pass `for_settings(settings)` instead where settings are at hand)."""
    from opensearchpy.exceptions import AuthorizationException, NotFoundError

    try:
        info = client.transport.perform_request("GET", "/")
    except AuthorizationException:
        return Engine("unknown")
    except NotFoundError:
        return Engine("aoss")
    engine = parse_root(info)
    engine.check_supported()
    return engine


def for_settings(settings: Settings) -> Engine | None:
    """What the settings alone tell: Serverless (no GET / there), or None (ask the cluster)."""
    if settings.sigv4_service == "aoss":
        return Engine("aoss", collection_type=settings.aoss_collection_type)
    return None
