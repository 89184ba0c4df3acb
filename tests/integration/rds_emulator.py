"""A small emulator of the RDS log-file API over HTTP (loopback only): DescribeDBLogFiles and
DownloadDBLogFilePortion (Query API), and the complete-file REST path, whose SigV4 signature it checks with
botocore's own signer. Its audit log grows and rotates like the plugin's: server_audit.log → .1 → .2 …, the
oldest deleted."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

NS = "http://rds.amazonaws.com/doc/2014-10-31/"
ACTIVE = "audit/server_audit.log"
TRUNCATED = " [Your log message was truncated]"


class LogFileEmulator:
    def __init__(self, credentials: Any, region: str = "us-east-1", *, keep: int = 3, page_limit: int = 1 << 20):
        self.credentials, self.region = credentials, region
        self.keep, self.page_limit = keep, page_limit
        self.files: dict[str, list[dict[str, Any]]] = {}  # instance → [{"name", "data", "last_written"}]
        self.written: dict[str, list[str]] = {}  # every line ever written, in order
        self.signatures: list[bool] = []
        self.truncated_pages = 0
        self.rotate_before_next_download = False
        self.complete_file_enabled = True
        self.lock = threading.RLock()  # rotate() is also called from inside a locked lookup
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                emulator.query(self, {k: v[0] for k, v in parse_qs(body).items()})

            def do_GET(self) -> None:
                emulator.complete_file(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the database side ------------------------------------------------------------------------------------
    def write(self, instance: str, lines: list[str]) -> None:
        with self.lock:
            files = self.files.setdefault(instance, [{"name": ACTIVE, "data": bytearray(), "last_written": 0}])
            files[0]["data"] += "".join(line + "\n" for line in lines).encode()
            files[0]["last_written"] = int(time.time() * 1000)
            self.written.setdefault(instance, []).extend(lines)

    def rotate(self, instance: str) -> None:
        with self.lock:
            files = self.files.setdefault(instance, [])
            for n, f in enumerate(files):
                f["name"] = f"{ACTIVE}.{n + 1}"
            del files[self.keep :]  # the oldest expires
            files.insert(0, {"name": ACTIVE, "data": bytearray(), "last_written": int(time.time() * 1000)})

    def _find(self, instance: str, name: str) -> dict[str, Any] | None:
        if self.rotate_before_next_download:
            self.rotate_before_next_download = False
            self.rotate(instance)
        return next((f for f in self.files.get(instance, []) if f["name"] == name), None)

    # -- the API ------------------------------------------------------------------------------------------------
    def query(self, h: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        action, instance = params.get("Action"), params.get("DBInstanceIdentifier", "")
        if action == "DescribeDBLogFiles":
            with self.lock:
                details = "".join(
                    f"<DescribeDBLogFilesDetails><LogFileName>{f['name']}</LogFileName>"
                    f"<LastWritten>{f['last_written']}</LastWritten><Size>{len(f['data'])}</Size>"
                    "</DescribeDBLogFilesDetails>"
                    for f in self.files.get(instance, [])
                )
            self._xml(
                h,
                200,
                f'<DescribeDBLogFilesResponse xmlns="{NS}"><DescribeDBLogFilesResult>'
                f"<DescribeDBLogFiles>{details}</DescribeDBLogFiles></DescribeDBLogFilesResult>"
                "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeDBLogFilesResponse>",
            )
        elif action == "DownloadDBLogFilePortion":
            with self.lock:
                f = self._find(instance, params.get("LogFileName", ""))
                if f is None:
                    return self._not_found(h)
                data = bytes(f["data"])
            start = int(params.get("Marker", "0") or 0)
            lines = int(params.get("NumberOfLines", "10000"))
            end = start
            for _ in range(lines):
                nl = data.find(b"\n", end)
                if nl < 0:
                    end = len(data)
                    break
                end = nl + 1
            page = data[start:end]
            if len(page) > self.page_limit:  # as RDS does past 1 MB: cut, and say so
                self.truncated_pages += 1
                page, end = page[: self.page_limit], start + self.page_limit
                text = page.decode("utf-8", "replace") + TRUNCATED
            else:
                text = page.decode("utf-8", "replace")
            pending = "true" if end < len(data) else "false"
            self._xml(
                h,
                200,
                f'<DownloadDBLogFilePortionResponse xmlns="{NS}"><DownloadDBLogFilePortionResult>'
                f"<LogFileData>{escape(text)}</LogFileData><Marker>{end}</Marker>"
                f"<AdditionalDataPending>{pending}</AdditionalDataPending></DownloadDBLogFilePortionResult>"
                "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
                "</DownloadDBLogFilePortionResponse>",
            )
        else:
            self._xml(h, 400, f'<ErrorResponse xmlns="{NS}"><Error><Code>InvalidAction</Code></Error></ErrorResponse>')

    def complete_file(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        prefix = "/v13/downloadCompleteLogFile/"
        if not path.startswith(prefix) or not self.complete_file_enabled:
            return self._raw(h, 404 if path.startswith(prefix) else 400, b"")
        ok = self.verify(h)
        self.signatures.append(ok)
        if not ok:
            return self._raw(h, 403, b"signature does not match")
        instance, name = path[len(prefix) :].split("/", 1)
        with self.lock:
            f = self._find(unquote(instance), unquote(name))
            data = bytes(f["data"]) if f else None
        if data is None:
            return self._raw(h, 404, b"")
        self._raw(h, 200, data, "application/octet-stream")

    def verify(self, h: BaseHTTPRequestHandler) -> bool:
        """Recompute the request's SigV4 signature with botocore's signer and the known credentials."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        auth = h.headers.get("Authorization", "")
        if "Signature=" not in auth or "/rds/aws4_request" not in auth:
            return False
        signed = auth.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";") if "SignedHeaders=" in auth else []
        headers = {k: v for k, v in h.headers.items() if k.lower() in signed}
        request = AWSRequest(method="GET", url=f"{self.url}{h.path}", headers=headers)
        request.context["timestamp"] = h.headers["X-Amz-Date"]
        signer = SigV4Auth(self.credentials, "rds", self.region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        return auth.rsplit("Signature=", 1)[1] == expected

    @staticmethod
    def _xml(h: BaseHTTPRequestHandler, status: int, text: str) -> None:
        LogFileEmulator._raw(h, status, text.encode(), "text/xml")

    @staticmethod
    def _not_found(h: BaseHTTPRequestHandler) -> None:
        LogFileEmulator._xml(
            h,
            404,
            f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type>'
            "<Code>DBLogFileNotFoundFault</Code><Message>not found</Message></Error>"
            "<RequestId>r</RequestId></ErrorResponse>",
        )

    @staticmethod
    def _raw(h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str = "text/plain") -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
