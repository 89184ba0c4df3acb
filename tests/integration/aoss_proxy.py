"""A strict OpenSearch Serverless front for the real local node: what a collection enforces, checked here, and
everything else passed to the node. Modelled on the AWS documentation:

- every request is SigV4-signed for service `aoss` with an `x-amz-content-sha256` header equal to the SHA-256 of
  the body and covered by the signature ("Signing HTTP requests to Amazon OpenSearch Serverless"); the signature
  is recomputed with botocore's SigV4 signer from the signed headers, not merely looked for
  (tests/integration/sigv4_check.py): 403 otherwise;
- only the operations in "Supported operations and plugins in Amazon OpenSearch Serverless" exist (index, document,
  search, `_index_template`, alias and `_cat/indices` APIs): anything else — GET /, `_cat/plugins`, `_plugins/*`,
  `_opendistro/*`, `_template`, `_cluster/*`, `_refresh` — answers 404;
- TIMESERIES and VECTORSEARCH collections generate document ids: a bulk item carrying `_id` is rejected, and so
  are `_create/<id>` ("for search collection types only") and indexing one document under a custom id,
  `PUT|POST /<index>/_doc/<id>` ("Supported operations and plugins in Amazon OpenSearch Serverless": custom
  document ids are not supported in time series and vector search collections); in TIMESERIES every document
  must carry the timestamp field and the template must map it as a top-level `date` ("Using the timestamp field
  in time series collections").
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.integration.sigv4_check import sigv4_refusal

_INDEX = r"/[a-z0-9][^/_]*[^/]*"
SUPPORTED = [
    ("PUT", rf"{_INDEX}"),
    ("DELETE", rf"{_INDEX}"),
    ("GET", rf"{_INDEX}(/_mappings?|/_settings?(/[^/]+)?)?"),
    ("HEAD", rf"{_INDEX}"),
    ("POST", r"(/[^_/][^/]*)?/_bulk"),
    ("POST", rf"{_INDEX}/_doc(/[^/]+)?"),
    ("PUT", rf"{_INDEX}/_doc/[^/]+"),
    ("POST", rf"{_INDEX}/_create/[^/]+"),
    ("GET", rf"{_INDEX}/_doc/[^/]+"),
    ("DELETE", rf"{_INDEX}/_doc/[^/]+"),
    ("GET|POST", r"(/[^_/][^/]*)?/_(search|count|msearch)"),
    ("GET|PUT|POST|DELETE|HEAD", r"/_index_template(/[^/]+)?"),
    ("POST", r"/_aliases"),
    ("GET", r"(/[^_/][^/]*)?/_alias(es)?(/[^/]+)?"),
    ("GET", r"/_cat/indices(/[^/]+)?"),
    ("GET", r"/_resolve/index/[^/]+"),
]


class AossProxy:
    def __init__(self, node: str, collection_type: str, key: str, secret: str, region: str) -> None:
        self.node = node.rstrip("/")
        self.collection_type = collection_type
        self.key, self.secret, self.region = key, secret, region
        self.refused: list[tuple[int, str, str, str]] = []  # (status, method, path, why)
        self.forwarded: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                status, headers, data = outer.handle(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _refuse(self, status: int, method: str, path: str, why: str) -> tuple[int, dict[str, str], bytes]:
        self.refused.append((status, method, path, why))
        return status, {"Content-Type": "application/json"}, json.dumps({"status": status, "error": why}).encode()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        problem = self.signature_problem(method, path, headers, body)
        if problem:
            return self._refuse(403, method, path, problem)
        bare = path.split("?", 1)[0]
        if not any(re.fullmatch(p, bare) and re.fullmatch(m, method) for m, p in SUPPORTED):
            return self._refuse(404, method, path, "not an operation OpenSearch Serverless supports")
        generates_ids = self.collection_type in ("timeseries", "vectorsearch")
        if generates_ids and "/_create/" in bare:
            return self._refuse(400, method, path, "_create/<id> is for search collections only")
        if generates_ids and method in ("PUT", "POST") and re.fullmatch(rf"{_INDEX}/_doc/[^/]+", bare):
            return self._refuse(400, method, path, "Document ID is not supported in create/index operation request")
        if self.collection_type == "timeseries" and bare.startswith("/_index_template/") and method in ("PUT", "POST"):
            mapping = json.loads(body).get("template", {}).get("mappings", {}).get("properties", {}).get("@timestamp")
            if mapping != {"type": "date"}:
                return self._refuse(400, method, path, f"timestamp field must be a top-level date, got {mapping}")
        if bare.endswith("/_bulk") and generates_ids:
            return self._bulk(body)
        return self._forward(method, path, headers, body)

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        self.forwarded.append((method, path))
        kept = {k: v for k, v in headers.items() if k.lower() == "content-type"}
        request = urllib.request.Request(self.node + path, data=body or None, method=method, headers=kept)
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                return r.status, {"Content-Type": r.headers.get("Content-Type", "application/json")}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {"Content-Type": "application/json"}, e.read()

    def _bulk(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Items with `_id` (or, on time series, without @timestamp) fail one by one; the rest reach the node."""
        lines = [line for line in body.split(b"\n") if line.strip()]
        pairs = [(json.loads(lines[i]), lines[i + 1]) for i in range(0, len(lines), 2)]
        items: list[Any] = []
        passed = []
        for action, source in pairs:
            (op, meta), doc = next(iter(action.items())), json.loads(source)
            if "_id" in meta:
                why = "Document ID is not supported in create/index operation request"
            elif self.collection_type == "timeseries" and "@timestamp" not in doc:
                why = "document is missing the timestamp field @timestamp"
            else:
                items.append(None)
                passed.append((action, source))
                continue
            self.refused.append((400, "POST", "/_bulk item", why))
            items.append(
                {
                    op: {
                        "_index": meta.get("_index"),
                        "status": 400,
                        "error": {"type": "illegal_argument_exception", "reason": why},
                    }
                }
            )
        if passed:
            data = b"".join(json.dumps(a).encode() + b"\n" + s + b"\n" for a, s in passed)
            _, _, answer = self._forward("POST", "/_bulk", {"Content-Type": "application/x-ndjson"}, data)
            forwarded = iter(json.loads(answer)["items"])
            items = [item if item is not None else next(forwarded) for item in items]
        errors = any(next(iter(i.values())).get("error") for i in items)
        answer_body = json.dumps({"took": 1, "errors": errors, "items": items}).encode()
        return 200, {"Content-Type": "application/json"}, answer_body

    def signature_problem(self, method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
        """None when the request carries a valid SigV4 signature for aoss, else why not."""
        from botocore.credentials import Credentials

        lower = {k.lower(): v for k, v in headers.items()}
        if lower.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
            return "x-amz-content-sha256 missing or not the SHA-256 of the body"
        if "x-amz-content-sha256" not in lower.get("authorization", "").partition("SignedHeaders=")[2].split(",")[0]:
            return "x-amz-content-sha256 must be signed"
        refusal = sigv4_refusal(
            method,
            self.url + path,
            headers,
            body,
            credentials=Credentials(self.key, self.secret),
            service="aoss",
            region=self.region,
        )
        return f"{refusal.code}: {refusal.message}" if refusal else None
