"""A small fault-injecting HTTP proxy between the forwarder and the real node (loopback only, bounded).

Each request to `/_bulk` takes the next fault from a script; other requests pass through. Faults:
  ("pass",)                     forward unchanged
  ("status", code, body)        answer `code` with `body` without forwarding
  ("items", status, every)      forward all but every n-th document; answer those with a per-item `status`
  ("reset_before",)             close the connection without forwarding or answering
  ("reset_after",)              forward (the node indexes), then close without answering
  ("delay", seconds)            wait, then forward
  ("max_bytes", limit)          413 when the body is larger than `limit`, else forward
  ("hold", event)               wait until `event` is set (the test's cue), then forward; `holding` is set meanwhile
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class FaultProxy:
    def __init__(
        self, upstream: str, script: list[tuple[Any, ...]], *, max_requests: int = 500, max_seconds: float = 120
    ):
        self.upstream = urlsplit(upstream)
        self.script = list(script)
        self.default: tuple[Any, ...] = ("pass",)
        self.max_requests = max_requests
        self.deadline = time.monotonic() + max_seconds
        self.seen: list[tuple[str, str, int]] = []  # (method, path, fault kind) of every request
        self.in_flight = 0  # requests received and not yet answered (a delayed one may still reach the node)
        self.holding = threading.Event()  # set once a ("hold", ...) request is waiting for its cue
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def _any(self) -> None:
                proxy.handle(self)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_fault(self, path: str) -> tuple[Any, ...]:
        with self._lock:
            if len(self.seen) >= self.max_requests or time.monotonic() > self.deadline:
                raise RuntimeError("fault proxy: request or time bound exceeded")
            if not path.startswith("/_bulk"):
                return ("pass",)
            return self.script.pop(0) if self.script else self.default

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.in_flight += 1
        try:
            self._handle(h)
        finally:
            with self._lock:
                self.in_flight -= 1

    def wait_idle(self, timeout: float = 60) -> None:
        """Poll until every request received has been answered (or fail after `timeout`)."""
        give_up = time.monotonic() + timeout
        while self.in_flight and time.monotonic() < give_up:
            time.sleep(0.05)
        assert self.in_flight == 0, f"fault proxy still has {self.in_flight} requests in flight"

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        fault = self.next_fault(h.path)
        with self._lock:
            self.seen.append((h.command, h.path, fault[0]))
        kind = fault[0]
        if kind == "status":
            self._answer(h, fault[1], json.dumps(fault[2]).encode() if not isinstance(fault[2], bytes) else fault[2])
        elif kind == "reset_before":
            self._reset(h)
        elif kind == "reset_after":
            self._forward(h, body)
            self._reset(h)
        elif kind == "delay":
            time.sleep(fault[1])
            self._relay(h, *self._forward(h, body))
        elif kind == "hold":
            self._hold(h, body, fault[1])
        elif kind == "max_bytes":
            if len(body) > fault[1]:
                self._answer(h, 413, b'{"error":"Request Entity Too Large"}')
            else:
                self._relay(h, *self._forward(h, body))
        elif kind == "items":
            self._items(h, body, fault[1], fault[2])
        else:
            self._relay(h, *self._forward(h, body))

    def _hold(self, h: BaseHTTPRequestHandler, body: bytes, cue: threading.Event) -> None:
        self.holding.set()
        if not cue.wait(max(0.0, self.deadline - time.monotonic())):
            raise RuntimeError("fault proxy: a held request was never released")
        # Forwarded even when the client has gone meanwhile (interrupted): a request already sent may still reach
        # the node, which is what a rerun must cope with. Its answer then has nowhere to go.
        answer = self._forward(h, body)
        try:
            self._relay(h, *answer)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes, str]:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        conn.request(h.command, h.path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        ctype = resp.getheader("Content-Type", "application/json")
        conn.close()
        return resp.status, data, ctype

    @staticmethod
    def _answer(h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str = "application/json") -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def _relay(self, h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str) -> None:
        self._answer(h, status, data, ctype)

    @staticmethod
    def _reset(h: BaseHTTPRequestHandler) -> None:
        # SO_LINGER 0: the close sends RST, as a dropped connection does
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        h.close_connection = True
        h.connection.close()

    def _items(self, h: BaseHTTPRequestHandler, body: bytes, status: int, every: int) -> None:
        lines = body.split(b"\n")
        pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines) - 1, 2)]
        keep = [p for n, p in enumerate(pairs) if n % every != 0]
        forwarded = b"".join(a + b"\n" + d + b"\n" for a, d in keep)
        items: list[Any] = []
        if keep:
            _, data, _ = self._forward(h, forwarded)
            items = json.loads(data)["items"]
        out, it = [], iter(items)
        for n, (head, _) in enumerate(pairs):
            if n % every == 0:
                meta = json.loads(head)["create"]
                error = {
                    "type": "rejected_execution_exception",
                    "reason": "rejected execution of coordinating operation",
                }
                out.append({"create": {"_index": meta["_index"], "_id": meta["_id"], "status": status, "error": error}})
            else:
                out.append(next(it))
        self._answer(h, 200, json.dumps({"took": 1, "errors": True, "items": out}).encode())
