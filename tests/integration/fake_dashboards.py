"""A stand-in for OpenSearch Dashboards' saved-objects and settings APIs, as strict as the real server on what
rdsaudit sends. Each rule is the documented (source) behaviour it models:

- every non-GET request needs `osd-xsrf` (or `osd-version`), else 400 "Request must contain a osd-xsrf header."
  (src/core/server/http/lifecycle_handlers.ts); `flavor="kibana"` models Kibana 7.10, which wants `kbn-xsrf`;
- `_import` accepts only multipart/form-data with exactly one field, `file`, whose file name ends in `.ndjson`,
  else 400 "Invalid file extension …" (src/core/server/saved_objects/routes/import.ts);
- references must resolve to an object in the file or one already stored, else that object is not imported and
  the answer carries a `missing_references` error with `success: false` (saved_objects/import);
- dashboard, search and visualization attributes are strictly mapped (their SavedObjectsType mappings under the
  .kibana index's `dynamic: strict`: src/plugins/dashboard/server/saved_objects/dashboard.ts,
  src/plugins/discover/server/saved_objects/search.ts, src/plugins/visualizations/server/saved_objects/
  visualization.ts): an unknown attribute, or a value its field type cannot hold (OpenSearch's field mappers:
  text and keyword take strings, numbers and booleans but no object; integer takes numbers and numeric strings;
  boolean takes true/false or "true"/"false"; an object field takes an object), fails that object with an
  `unknown` error; index patterns are `dynamic: false` and keep anything
  (src/plugins/data/server/saved_objects/index_patterns.ts);
- credentials: with `basic=(user, password)` (the security plugin's basic authentication) every request needs that
  Basic Authorization, else 401 with `WWW-Authenticate: Basic realm="OpenSearch Security"`; with `sigv4=(credentials,
  region, service)` (Dashboards of an Amazon OpenSearch Service domain or a Serverless collection, IAM-signed)
  every request needs a valid SigV4 signature (tests/integration/sigv4_check.py), else 403; with neither, no
  security plugin is installed and nothing is asked;
- `load_index_pattern` does what the first load of an index pattern does: fetch the fields and save the pattern
  back with JSON.stringify'd attributes, `fields: "[]"` (scripted fields only) and a compact `fieldFormatMap`
  (index_patterns.ts `get` → `updateSavedObject`, index_pattern.ts `getAsSavedObjectBody`);
- uiSettings: GET /api/opensearch-dashboards/settings and POST …/settings/{key} {"value": …}, a body without
  `value` (or not JSON) is 400 from the route's body validation (src/core/server/ui_settings/routes/get.ts,
  set.ts: `body: schema.object({ value: schema.any() })`); Kibana 7.10 answers under /api/kibana/settings.
"""

from __future__ import annotations

import base64
import json
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_META = {"searchSourceJSON": "text"}
# attribute → field type (a dict: an object field and its own strict properties); None: dynamic false
ATTRIBUTES: dict[str, dict[str, Any] | None] = {
    "dashboard": {
        "description": "text", "hits": "integer", "kibanaSavedObjectMeta": _META, "optionsJSON": "text",
        "panelsJSON": "text", "timeFrom": "keyword", "timeRestore": "boolean", "timeTo": "keyword",
        "title": "text", "version": "integer",
        "refreshInterval": {"display": "keyword", "pause": "boolean", "section": "integer", "value": "integer"},
    },
    "search": {
        "columns": "keyword", "description": "text", "hits": "integer", "kibanaSavedObjectMeta": _META,
        "sort": "keyword", "columnWidths": "disabled object", "title": "text", "version": "integer",
    },
    "visualization": {
        "description": "text", "kibanaSavedObjectMeta": _META, "savedSearchRefName": "keyword", "title": "text",
        "uiStateJSON": "text", "version": "integer", "visState": "text",
    },
    "index-pattern": None,
}  # fmt: skip


def type_error(value: Any, kind: str | dict[str, Any], name: str) -> str | None:
    """Why OpenSearch would refuse `value` for a field of type `kind`, or None (null and arrays as it reads them)."""
    if value is None:
        return None
    if isinstance(value, list):
        return next((e for e in (type_error(v, kind, name) for v in value) if e), None)
    if isinstance(kind, dict):
        if not isinstance(value, dict):
            return f"object mapping for [{name}] tried to parse field [{name}] as object, but found a concrete value"
        unknown = [k for k in value if k not in kind]
        if unknown:
            return f"strict_dynamic_mapping for [{name}.{unknown[0]}]"
        return next((e for e in (type_error(v, kind[k], f"{name}.{k}") for k, v in value.items()) if e), None)
    if kind == "disabled object":
        return None if isinstance(value, dict) else f"[{name}] is an object field: found a concrete value"
    if isinstance(value, dict):
        return f"failed to parse field [{name}] of type [{kind}]: an object"
    if kind == "boolean":
        ok = isinstance(value, bool) or value in ("true", "false", "")
    elif kind == "integer":
        ok = not isinstance(value, bool) and _numeric(value)
    else:  # text, keyword
        ok = True
    return None if ok else f"failed to parse field [{name}] of type [{kind}]: {value!r}"


def _numeric(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


class FakeDashboards:
    def __init__(
        self,
        flavor: str = "osd",
        *,
        basic: tuple[str, str] | None = None,
        sigv4: tuple[Any, str, str] | None = None,
    ) -> None:
        self.flavor = flavor
        self.basic, self.sigv4 = basic, sigv4
        self.xsrf = "osd-xsrf" if flavor == "osd" else "kbn-xsrf"
        self.version_header = "osd-version" if flavor == "osd" else "kbn-version"
        self.settings_path = "/api/opensearch-dashboards/settings" if flavor == "osd" else "/api/kibana/settings"
        self.requests: list[dict[str, Any]] = []
        self.store: dict[tuple[str, str], dict[str, Any]] = {}
        self.settings: dict[str, Any] = {}
        self.refuse: set[str] = set()  # attribute names this server's mappings lack (an older release)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                outer.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
                if self._unauthenticated(b""):
                    return
                if self.path == outer.settings_path:
                    body = {k: {"userValue": v} for k, v in outer.settings.items()}
                    return self._answer(200, {"settings": body})
                self._answer(404, {"statusCode": 404, "error": "Not Found"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append(
                    {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body}
                )
                if self._unauthenticated(body):
                    return
                if outer.xsrf not in self.headers and outer.version_header not in self.headers:
                    return self._answer(400, {"message": f"Request must contain a {outer.xsrf} header."})
                if self.path.startswith("/api/saved_objects/_bulk_get"):
                    return self._answer(
                        200, {"saved_objects": [outer.get(w["type"], w["id"]) for w in json.loads(body)]}
                    )
                if self.path.startswith("/api/saved_objects/_import"):
                    status, answer = outer.import_(self.headers.get("Content-Type", ""), body, self.path)
                    return self._answer(status, answer)
                if self.path.startswith(outer.settings_path + "/"):
                    try:
                        setting = json.loads(body)
                    except ValueError:
                        setting = None
                    if not isinstance(setting, dict) or "value" not in setting:
                        message = "[request body.value]: expected value of type [any] but got [undefined]"
                        return self._answer(400, {"statusCode": 400, "error": "Bad Request", "message": message})
                    outer.settings[self.path.rsplit("/", 1)[1]] = setting["value"]
                    return self._answer(200, {"settings": outer.settings})
                self._answer(404, {"statusCode": 404, "error": "Not Found"})

            def _unauthenticated(self, body: bytes) -> bool:
                refusal = outer.authentication_refusal(self.command, self.path, dict(self.headers.items()), body)
                if refusal is None:
                    return False
                status, answer = refusal
                self._answer(status, answer, {"WWW-Authenticate": 'Basic realm="OpenSearch Security"'})
                return True

            def _answer(self, status: int, answer: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def authentication_refusal(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]] | None:
        if self.basic is not None:
            expected = "Basic " + base64.b64encode(":".join(self.basic).encode()).decode()
            if headers.get("Authorization") != expected:
                return 401, {"statusCode": 401, "error": "Unauthorized", "message": "Authentication Exception"}
        if self.sigv4 is not None:
            from tests.integration.sigv4_check import sigv4_refusal

            credentials, region, service = self.sigv4
            refusal = sigv4_refusal(
                method, self.url + path, headers, body, credentials=credentials, service=service, region=region
            )
            if refusal is not None:
                return refusal.status, {"message": f"{refusal.code}: {refusal.message}"}
        return None

    def get(self, type_: str, id_: str) -> dict[str, Any]:
        found = self.store.get((type_, id_))
        return found if found else {"type": type_, "id": id_, "error": {"statusCode": 404, "message": "Not found"}}

    def imports(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].startswith("/api/saved_objects/_import")]

    def import_(self, content_type: str, body: bytes, path: str) -> tuple[int, dict[str, Any]]:
        if not content_type.startswith("multipart/form-data"):
            return 415, {"statusCode": 415, "error": "Unsupported Media Type"}
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        parts = list(message.iter_parts())
        names = [p.get_param("name", header="content-disposition") for p in parts]
        if names != ["file"]:
            return 400, {"statusCode": 400, "message": f"[request body]: unexpected fields {names}"}
        filename = parts[0].get_filename() or ""
        extension = "." + filename.rsplit(".", 1)[1].lower() if "." in filename else ""
        if extension != ".ndjson":
            return 400, {"statusCode": 400, "message": f"Invalid file extension {extension}"}
        objects = [json.loads(line) for line in parts[0].get_payload(decode=True).splitlines() if line.strip()]
        incoming = {(o["type"], o["id"]) for o in objects}
        errors, imported = [], 0
        for o in objects:
            error = self._check(o, incoming)
            if error:
                errors.append({"id": o["id"], "type": o["type"], "title": o["attributes"].get("title"), "error": error})
                continue
            if (o["type"], o["id"]) in self.store and "overwrite=true" not in path:
                errors.append({"id": o["id"], "type": o["type"], "error": {"type": "conflict"}})
                continue
            self.store[(o["type"], o["id"])] = {**o, "version": "1"}
            imported += 1
        answer: dict[str, Any] = {"success": not errors, "successCount": imported}
        if errors:
            answer["errors"] = errors
        return 200, answer

    def _check(self, obj: dict[str, Any], incoming: set[tuple[str, str]]) -> dict[str, Any] | None:
        if obj["type"] not in ATTRIBUTES:
            return {"type": "unsupported_type"}
        missing = [
            {"type": r["type"], "id": r["id"]}
            for r in obj.get("references", [])
            if (r["type"], r["id"]) not in incoming and (r["type"], r["id"]) not in self.store
        ]
        if missing:
            return {"type": "missing_references", "references": missing}
        allowed = ATTRIBUTES[obj["type"]]
        unknown = [a for a in obj["attributes"] if (allowed is not None and a not in allowed) or a in self.refuse]
        if unknown:
            reason = f"mapper_parsing_exception: strict_dynamic_mapping for [{unknown[0]}]"
            return {"type": "unknown", "message": reason, "statusCode": 400}
        if allowed is not None:
            wrong = type_error(obj["attributes"], allowed, obj["type"])
            if wrong:
                return {"type": "unknown", "message": f"mapper_parsing_exception: {wrong}", "statusCode": 400}
        return None

    def load_index_pattern(self, id_: str) -> None:
        """The first load of an index pattern in the UI: fields fetched, the pattern saved back re-serialized."""
        obj = self.store[("index-pattern", id_)]
        attrs = obj["attributes"]
        if "fields" in attrs:
            return
        attrs["fields"] = "[]"
        if attrs.get("fieldFormatMap"):
            attrs["fieldFormatMap"] = json.dumps(json.loads(attrs["fieldFormatMap"]), separators=(",", ":"))
        obj["version"] = str(int(obj["version"]) + 1)
