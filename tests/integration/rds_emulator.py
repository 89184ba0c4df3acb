"""A small emulator of the RDS log-file API over HTTP (loopback only): DescribeDBLogFiles and
DownloadDBLogFilePortion (Query API), and the complete-file REST path. Its audit log grows and rotates like the
plugin's: server_audit.log → .1 → .2 …, the oldest deleted; or it serves the files a real plugin writes and rotates
(`follow`: MariaDB's server_audit, tests/integration/mariadb.py), read from its directory at each request as RDS
reads the instance's.

It refuses what RDS refuses, each as documented:
- every request, Query API and REST alike, must carry a well-formed SigV4 signature for service `rds` that
  botocore's signer computes again with the known credentials (tests/integration/sigv4_check.py, which cites the
  IAM User Guide and the RDS API Reference's "Common Errors"): no Authorization is 403
  MissingAuthenticationToken, no X-Amz-Date 403 IncompleteSignature, a wrong signature 403 SignatureDoesNotMatch;
- an instance that does not exist is 404 DBInstanceNotFound, in RDS's XML error shape (ErrorResponse / Error /
  Type, Code, Message; RequestId) — "DescribeDBLogFiles" and "DownloadDBLogFilePortion", Errors:
  DBInstanceNotFoundFault, "DBInstanceIdentifier doesn't refer to an existing DB instance", HTTP 404; a file that
  does not exist is 404 DBLogFileNotFoundFault ("DownloadDBLogFilePortion", Errors);
- a Marker the service did not hand out, or a NumberOfLines that is not a positive integer, is 400
  InvalidParameterValue ("Common Errors": an invalid or out-of-range value for an input parameter);
- an unknown Action is 400 InvalidAction ("Common Errors").
Instances exist once written to (`write`) or created (`create_instance`)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from tests.integration.sigv4_check import sigv4_refusal

NS = "http://rds.amazonaws.com/doc/2014-10-31/"
ACTIVE = "audit/server_audit.log"
TRUNCATED = " [Your log message was truncated]"


class LogFileEmulator:
    def __init__(self, credentials: Any, region: str = "us-east-1", *, keep: int = 3, page_limit: int = 1 << 20):
        self.credentials, self.region = credentials, region
        self.keep, self.page_limit = keep, page_limit
        self.files: dict[str, list[dict[str, Any]]] = {}  # instance → [{"name", "data", "last_written"}]
        self.followed: dict[str, Path] = {}  # instance → the directory a real server_audit writes
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
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if emulator.refused(self, body):
                    return
                emulator.query(self, {k: v[0] for k, v in parse_qs(body.decode()).items()})

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
    def create_instance(self, instance: str) -> None:
        """An instance whose audit log has nothing yet."""
        with self.lock:
            self.files.setdefault(instance, [])

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

    def follow(self, instance: str, directory: Path) -> None:
        """Serve the instance's log files from the directory a real plugin writes (its own names and rotation:
        server_audit.log, server_audit.log.1 or .01, …), as they are at each request."""
        self.followed[instance] = directory

    def _files(self, instance: str) -> list[dict[str, Any]]:
        directory = self.followed.get(instance)
        if directory is None:
            return self.files.get(instance, [])
        found = []
        for path in directory.glob("server_audit.log*"):
            suffix = path.name.removeprefix("server_audit.log").lstrip(".")
            if suffix and not suffix.isdigit():
                continue
            try:  # rotated away between the listing and the read: as on RDS, gone
                data, mtime = path.read_bytes(), path.stat().st_mtime
            except FileNotFoundError:
                continue
            # RDS names rotated files server_audit.log.1, .2, …; the plugin pads the number (.01) past 9 rotations
            name = f"{ACTIVE}.{int(suffix)}" if suffix else ACTIVE
            found.append(
                {"name": name, "data": bytearray(data), "last_written": int(mtime * 1000), "n": int(suffix or 0)}
            )
        return sorted(found, key=lambda f: f["n"])

    def _find(self, instance: str, name: str) -> dict[str, Any] | None:
        if self.rotate_before_next_download:
            self.rotate_before_next_download = False
            self.rotate(instance)
        return next((f for f in self._files(instance) if f["name"] == name), None)

    # -- the API ------------------------------------------------------------------------------------------------
    def refused(self, h: BaseHTTPRequestHandler, body: bytes) -> bool:
        """Answer (and say True) when the request's signature is not one RDS accepts."""
        refusal = sigv4_refusal(
            h.command,
            f"{self.url}{h.path}",
            dict(h.headers.items()),
            body,
            credentials=self.credentials,
            service="rds",
            region=self.region,
        )
        if refusal is None:
            return False
        self._error(h, refusal.status, refusal.code, refusal.message)
        return True

    def query(self, h: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        action, instance = params.get("Action"), params.get("DBInstanceIdentifier", "")
        if (
            action in ("DescribeDBLogFiles", "DownloadDBLogFilePortion")
            and instance not in self.files
            and instance not in self.followed
        ):
            return self._error(h, 404, "DBInstanceNotFound", f"DBInstance {instance} not found.")
        if action == "DescribeDBLogFiles":
            with self.lock:
                details = "".join(
                    f"<DescribeDBLogFilesDetails><LogFileName>{f['name']}</LogFileName>"
                    f"<LastWritten>{f['last_written']}</LastWritten><Size>{len(f['data'])}</Size>"
                    "</DescribeDBLogFilesDetails>"
                    for f in self._files(instance)
                )
            self._xml(
                h,
                200,
                f'<DescribeDBLogFilesResponse xmlns="{NS}"><DescribeDBLogFilesResult>'
                f"<DescribeDBLogFiles>{details}</DescribeDBLogFiles></DescribeDBLogFilesResult>"
                "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeDBLogFilesResponse>",
            )
        elif action == "DownloadDBLogFilePortion":
            marker, count = params.get("Marker", "0") or "0", params.get("NumberOfLines", "10000")
            if not marker.isdigit():  # this emulator hands out byte offsets as markers
                return self._error(h, 400, "InvalidParameterValue", f"Invalid marker: {marker}")
            if not count.isdigit() or int(count) < 1:
                return self._error(h, 400, "InvalidParameterValue", f"NumberOfLines must be positive: {count}")
            with self.lock:
                f = self._find(instance, params.get("LogFileName", ""))
                if f is None:
                    name = params.get("LogFileName", "")
                    return self._error(
                        h, 404, "DBLogFileNotFoundFault", f"DBLog File: {name}, is not found on the DB instance"
                    )
                data = bytes(f["data"])
            start, lines = int(marker), int(count)
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
            self._error(h, 400, "InvalidAction", f"Could not find operation {action} for version 2014-10-31")

    def complete_file(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        prefix = "/v13/downloadCompleteLogFile/"
        if not path.startswith(prefix) or not self.complete_file_enabled:
            return self._raw(h, 404 if path.startswith(prefix) else 400, b"")
        refused = self.refused(h, b"")
        self.signatures.append(not refused)
        if refused:
            return
        instance, name = path[len(prefix) :].split("/", 1)
        with self.lock:
            f = self._find(unquote(instance), unquote(name))
            data = bytes(f["data"]) if f else None
        if data is None:
            return self._raw(h, 404, b"")
        self._raw(h, 200, data, "application/octet-stream")

    @staticmethod
    def _xml(h: BaseHTTPRequestHandler, status: int, text: str) -> None:
        LogFileEmulator._raw(h, status, text.encode(), "text/xml")

    @staticmethod
    def _error(h: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
        LogFileEmulator._xml(
            h,
            status,
            f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            "<RequestId>r</RequestId></ErrorResponse>",
        )

    @staticmethod
    def _raw(h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str = "text/plain") -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
