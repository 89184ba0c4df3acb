"""Engine detection and what follows from it; the template variants; the bulk lines without ids."""

from __future__ import annotations

import json

import pytest

from handler.config import Settings
from handler.errors import ConfigError, UnsupportedEngine
from handler.mappings import index_template, legacy_template, serverless_template
from handler.model import Context, RawEvent
from handler.setup.engine import Engine, for_settings, parse_root
from handler.transforms.batch import BatchTransformer, TransformOptions, create_body

LINE = "1700000000000001,i1,app,10.0.0.1,6,1,QUERY,shop,'SELECT 1',0"


@pytest.mark.parametrize(
    ("root", "distribution", "legacy", "prefix"),
    [
        ({"version": {"number": "2.19.6", "distribution": "opensearch"}}, "opensearch", False, "_plugins"),
        ({"version": {"number": "7.10.2", "distribution": "opensearch"}}, "opensearch", False, "_plugins"),
        ({"version": {"number": "7.10.2", "build_flavor": "oss"}}, "elasticsearch", False, "_opendistro"),
        ({"version": {"number": "7.7.1", "build_flavor": "oss"}}, "elasticsearch", True, "_opendistro"),
    ],
)
def test_what_the_root_answer_decides(root: dict[str, object], distribution: str, legacy: bool, prefix: str) -> None:
    engine = parse_root(root)
    assert (engine.distribution, engine.legacy_templates, engine.plugin_prefix) == (distribution, legacy, prefix)
    engine.check_supported()


def test_elasticsearch_6_is_refused_with_the_version_and_the_oldest_supported() -> None:
    with pytest.raises(UnsupportedEngine) as raised:
        parse_root({"version": {"number": "6.8.23"}}).check_supported()
    assert "Elasticsearch 6.8.23 is not supported" in str(raised.value) and "Elasticsearch 7.0" in str(raised.value)
    assert isinstance(raised.value, ConfigError)


def test_serverless_comes_from_the_settings() -> None:
    assert for_settings(Settings.from_env({})) is None
    env = {"OPENSEARCH_SERVICE": "aoss", "RDSAUDIT_AOSS_COLLECTION_TYPE": "TimeSeries"}
    engine = for_settings(Settings.from_env(env))
    assert engine == Engine("aoss", collection_type="timeseries") and engine.generates_ids
    assert not Engine("aoss", collection_type="search").generates_ids
    with pytest.raises(ConfigError, match="RDSAUDIT_AOSS_COLLECTION_TYPE must be one of search, timeseries"):
        Settings.from_env({"RDSAUDIT_AOSS_COLLECTION_TYPE": "logs"})


@pytest.mark.parametrize(
    ("engine", "refused"),
    [
        (Engine("opensearch", "1.3.20"), False),
        (Engine("elasticsearch", "7.7.1"), False),
        (Engine("unknown"), False),
        (Engine("aoss", collection_type="search"), False),
        (Engine("aoss", collection_type="timeseries"), True),
        (Engine("aoss", collection_type="vectorsearch"), True),
    ],
)
def test_detect_is_refused_where_findings_cannot_keep_their_ids(engine: Engine, refused: bool) -> None:
    if not refused:
        engine.check_detect()
        return
    with pytest.raises(UnsupportedEngine) as raised:
        engine.check_detect()
    message = str(raised.value)
    assert message.startswith(f"detections cannot write findings to OpenSearch Serverless ({engine.collection_type}")
    assert "\n" not in message and "event rules still tag documents at ingest" in message
    assert raised.value.exit_code == 2


def test_legacy_template_keeps_mappings_settings_and_checksum() -> None:
    body = index_template("audit")
    body["_meta"]["checksum"] = "abc"
    legacy = legacy_template(body)
    assert legacy["index_patterns"] == ["audit-*"] and legacy["order"] == body["priority"]
    assert legacy["settings"] == body["template"]["settings"]
    assert legacy["mappings"]["properties"] == body["template"]["mappings"]["properties"]
    assert legacy["mappings"]["_meta"]["checksum"] == "abc" and "template" not in legacy


def test_serverless_template_variants() -> None:
    body = index_template("audit")
    timeseries = serverless_template(body, "timeseries")["template"]["mappings"]["properties"]
    assert timeseries["@timestamp"] == {"type": "date"} and timeseries["event_hash"] == {"type": "keyword"}
    vector = serverless_template(body, "vectorsearch")["template"]["mappings"]["properties"]
    assert vector["@timestamp"] == {"type": "date_nanos"} and "event_hash" in vector
    assert "event_hash" not in body["template"]["mappings"]["properties"]  # the original is left alone


def test_bulk_lines_without_ids_keep_the_hash_as_a_field() -> None:
    with_id = BatchTransformer(Context(), TransformOptions()).action(RawEvent(LINE, None))
    without = BatchTransformer(Context(), TransformOptions(document_ids=False)).action(RawEvent(LINE, None))
    meta, doc = (json.loads(line) for line in without.body.splitlines())
    assert meta == {"create": {"_index": with_id.index_name}}
    assert doc["event_hash"] == with_id.doc_id
    assert json.loads(with_id.body.splitlines()[0])["create"]["_id"] == with_id.doc_id
    assert create_body("i", "x", {"a": 1}, with_id=False) == b'{"create":{"_index":"i"}}\n{"a":1,"event_hash":"x"}\n'


class _Root:
    """A client whose GET / fails as the given exception (the only request detect sends)."""

    def __init__(self, error: Exception) -> None:
        self.transport = self
        self.error = error

    def perform_request(self, method: str, path: str) -> None:
        assert (method, path) == ("GET", "/")
        raise self.error


def test_detection_when_get_root_is_forbidden_or_missing() -> None:
    from opensearchpy.exceptions import AuthorizationException, NotFoundError

    from handler.setup.engine import detect

    # a writer role from before this release may not read GET /: the template API then answers for itself
    forbidden = detect(_Root(AuthorizationException(403, "security_exception", {})))
    assert forbidden.distribution == "unknown" and not forbidden.legacy_templates
    assert detect(_Root(NotFoundError(404, "not found", {}))).serverless  # Serverless has no GET /
