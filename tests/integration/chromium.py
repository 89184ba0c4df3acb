"""Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON messages ending
in NUL on file descriptors 3 and 4), so a test can look at a page as a person would without a websocket client,
Node or a driver: console errors, requests made, what is drawn, the printed PDF and a screenshot.

    python -m tests.integration.chromium report.html --screenshot out.png [--height 2200] [--from '#failed_logins']
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1200,900",
]  # fmt: skip

# What the page reports about its charts: each must have as many drawn marks (non-empty boxes) as it declares.
CHARTS_JS = """JSON.stringify([...document.querySelectorAll('svg.chart')].map(s => {
  const box = s.getBoundingClientRect();
  const marks = [...s.querySelectorAll('.mark')];
  return {name: s.dataset.chart, declared: +s.dataset.marks, marks: marks.length,
          drawn: marks.filter(m => { const b = m.getBBox(); return b.width > 0 && b.height > 0; }).length,
          width: box.width, height: box.height, visible: getComputedStyle(s).display !== 'none'};
}))"""


def binary() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageCheck:
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, failed loads, CSP reports
    requests: list[str] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    print_charts: list[dict[str, Any]] = field(default_factory=list)
    pdf: bytes = b""
    png: bytes = b""
    title: str = ""

    @property
    def pdf_pages(self) -> int:
        return self.pdf.count(b"/Type /Page") - self.pdf.count(b"/Type /Pages")


def _high(fd: int) -> int:
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Browser:
    def __init__(self, timeout: float = 60) -> None:
        exe = binary()
        if exe is None:
            raise FileNotFoundError("chromium not found (make chromium installs it)")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="rdsaudit-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Above 9 in the parent, so moving them to 3 and 4 in the child cannot clobber one with the other.
        to_child_r, from_child_w = (_high(fd) for fd in (to_child_r, from_child_w))
        # The protocol expects fd 3 (commands) and fd 4 (replies) in the child: bash moves them there (dash
        # cannot name descriptors above 9).
        script = f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w} {to_child_r}<&- {from_child_w}>&-'
        self.proc = subprocess.Popen(
            ["bash", "-c", script, exe, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe"],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        with contextlib.suppress(Exception):  # it may be gone already; it is waited for and killed below
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise ConnectionError("chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(message))

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)


def check_page(path: Path, screenshot_height: int = 0, timeout: float = 60, screenshot_from: str = "") -> PageCheck:
    """Load a local file, then report errors, requests, charts on screen and in print, the PDF and a screenshot."""
    out = PageCheck()
    with Browser(timeout) as b:
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.call(f"{domain}.enable", session=s)
        b.call("Page.navigate", {"url": path.resolve().as_uri()}, session=s)
        b.wait_for("Page.loadEventFired")

        def evaluate(expression: str) -> Any:
            result = b.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=s)
            return result["result"].get("value")

        out.title = str(evaluate("document.title"))
        out.charts = json.loads(evaluate(CHARTS_JS))
        b.call("Emulation.setEmulatedMedia", {"media": "print"}, session=s)
        out.print_charts = json.loads(evaluate(CHARTS_JS))
        out.pdf = base64.b64decode(b.call("Page.printToPDF", {"printBackground": True}, session=s)["data"])
        b.call("Emulation.setEmulatedMedia", {"media": ""}, session=s)
        size = b.call("Page.getLayoutMetrics", session=s)["cssContentSize"]
        top = 0.0
        if screenshot_from:  # the screenshot starts at this element (CSS selector)
            top = float(evaluate(f"document.querySelector({json.dumps(screenshot_from)}).getBoundingClientRect().top"))
        height = size["height"] - top
        height = min(height, screenshot_height) if screenshot_height else height
        clip = {"x": 0, "y": top, "width": size["width"], "height": height, "scale": 1}
        shot = b.call(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}, session=s
        )
        out.png = base64.b64decode(shot["data"])
        for event in b.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                out.errors.append(str(details.get("exception", {}).get("description") or details.get("text"))[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.errors.append(json.dumps(params.get("args", []))[:300])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.errors.append(params["entry"].get("text", "")[:300])
            elif method == "Network.requestWillBeSent":
                out.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed":
                out.errors.append(f"load failed: {params.get('errorText')}")
    return out


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="check an HTML file in headless Chromium and take a screenshot")
    parser.add_argument("html", type=Path)
    parser.add_argument("--screenshot", type=Path, required=True)
    parser.add_argument("--height", type=int, default=0, help="crop the full-page screenshot to this many pixels")
    parser.add_argument("--from", dest="start", default="", help="start the screenshot at this CSS selector")
    args = parser.parse_args()
    check = check_page(args.html, args.height, screenshot_from=args.start)
    args.screenshot.write_bytes(check.png)
    drawn = sum(1 for c in check.charts if c["drawn"] == c["declared"] > 0)
    print(f"{len(check.errors)} errors, {drawn}/{len(check.charts)} charts drawn, {check.pdf_pages} PDF pages")


if __name__ == "__main__":
    main()
