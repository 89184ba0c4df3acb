"""A stand-in for OpenSearch Dashboards' saved-objects and settings APIs, as strict as the real server on what
rdsaudit sends. Each rule is the documented (source) behaviour it models:

- every non-GET request needs `osd-xsrf` (or `osd-version`), else 400 "Request must contain a osd-xsrf header."
  (src/core/server/http/lifecycle_handlers.ts); `flavor="kibana"` models Kibana 7.10, which wants `kbn-xsrf`;
- `_import` accepts only multipart/form-data with exactly one field, `file`, whose file name ends in `.ndjson`,
  else 400 "Invalid file extension …" (src/core/server/saved_objects/routes/import.ts);
- references must resolve to an object in the file or one already stored, else that object is not imported and
  the answer carries a `missing_references` error with `success: false` (saved_objects/import);
- dashboard, search and visualization attributes are strictly mapped (their SavedObjectsType mappings under the
  .kibana index's `dynamic: strict`): an unknown attribute fails that object with an `unknown` error; index
  patterns are `dynamic: false` and keep anything (src/plugins/data/server/saved_objects/index_patterns.ts);
- `load_index_pattern` does what the first load of an index pattern does: fetch the fields and save the pattern
  back with JSON.stringify'd attributes, `fields: "[]"` (scripted fields only) and a compact `fieldFormatMap`
  (index_patterns.ts `get` → `updateSavedObject`, index_pattern.ts `getAsSavedObjectBody`);
- uiSettings: GET /api/opensearch-dashboards/settings and POST …/settings/{key} {"value": …}
  (src/core/server/ui_settings/routes/get.ts, set.ts); Kibana 7.10 answers under /api/kibana/settings.
"""

from __future__ import annotations

import json
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ATTRIBUTES = {
    "dashboard": {
        "description", "hits", "kibanaSavedObjectMeta", "optionsJSON", "panelsJSON", "refreshInterval",
        "timeFrom", "timeRestore", "timeTo", "title", "version",
    },
    "search": {"columns", "description", "hits", "kibanaSavedObjectMeta", "sort", "columnWidths", "title", "version"},
    "visualization": {
        "description", "kibanaSavedObjectMeta", "savedSearchRefName", "title", "uiStateJSON", "version", "visState",
    },
    "index-pattern": None,  # dynamic: false
}  # fmt: skip


class FakeDashboards:
    def __init__(self, flavor: str = "osd") -> None:
        self.flavor = flavor
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
                if self.path == outer.settings_path:
                    body = {k: {"userValue": v} for k, v in outer.settings.items()}
                    return self._answer(200, {"settings": body})
                self._answer(404, {"statusCode": 404, "error": "Not Found"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append(
                    {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body}
                )
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
                    outer.settings[self.path.rsplit("/", 1)[1]] = json.loads(body)["value"]
                    return self._answer(200, {"settings": outer.settings})
                self._answer(404, {"statusCode": 404, "error": "Not Found"})

            def _answer(self, status: int, answer: Any) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
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
