"""The HTML report as a person sees it: the demo data's report opened in headless Chromium loads without errors or
network requests, every chart is drawn on screen and in print, and it prints to PDF. A screenshot is kept in
build/test-output/ (RDSAUDIT_TEST_OUTPUT) as the run's artifact."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from handler.backfill.process import BackfillOptions
from handler.backfill.runner import run_backfill
from handler.cli import main
from tests.events import sample_events
from tests.integration import chromium
from tests.integration.conftest import Forwarder

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("RDSAUDIT_TEST_OUTPUT", ROOT / "build" / "test-output"))
CHARTS = {
    "failed-logins-series", "failed-logins-users", "failed-logins-clients", "privileged-events",
    "outside-hours-by-hour", "outside-hours-by-day",
}  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> str:
    exe = chromium.binary()
    if exe is None:
        message = "chromium is not installed; run `make chromium`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return exe


def assert_looks_right(check: chromium.PageCheck, charts: set[str]) -> None:
    assert check.title == "Database audit report"
    assert check.errors == []
    assert all(url.startswith("file://") for url in check.requests), check.requests  # nothing fetched
    for media in (check.charts, check.print_charts):
        assert {c["name"] for c in media} == charts
        for c in media:
            assert c["visible"] and c["width"] > 100 and c["height"] > 40, c
            assert c["drawn"] == c["marks"] == c["declared"] > 0, c
    assert check.pdf.startswith(b"%PDF-") and check.pdf_pages >= 2
    assert check.png.startswith(b"\x89PNG")


def test_demo_report_in_chromium(browser: str, forwarder: Forwarder, tmp_path: Path) -> None:
    for event in sample_events():
        with contextlib.redirect_stdout(io.StringIO()):
            forwarder.invoke(event)
    from handler import app

    run_backfill(
        [str(ROOT / "tests" / "events" / "archive")],
        app.get_runtime(),
        options=BackfillOptions(),
        checkpoint=None,
        out=io.StringIO(),
    )
    forwarder.refresh()
    html = tmp_path / "demo-report.html"
    args = ["report", "--since", "2020-01-01", "--until", "2025-01-01", "--timezone", "Europe/Paris"]
    assert main([*args, "--index-prefix", forwarder.prefix, "--out", str(html)]) == 0
    assert main(["report", "--verify", str(html)]) == 0

    check = chromium.check_page(html)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "report-demo.png").write_bytes(check.png)
    (OUTPUT / "report-demo.pdf").write_bytes(check.pdf)
    assert_looks_right(check, CHARTS)


def test_the_check_sees_errors_and_requests(browser: str, tmp_path: Path) -> None:
    """The browser check is not vacuous: a script error, a failed load and an undrawn chart are all seen."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><title>broken</title><img src='http://127.0.0.1:9/x.png'>"
        "<svg class='chart' data-chart='empty' data-marks='1' width='100' height='50'></svg>"
        "<script>console.error('boom'); undefinedFunction();</script>"
    )
    check = chromium.check_page(page)
    assert any("boom" in e for e in check.errors) and any("undefinedFunction" in e for e in check.errors)
    assert "http://127.0.0.1:9/x.png" in check.requests
    assert check.charts == [
        {"name": "empty", "declared": 1, "marks": 0, "drawn": 0, "width": 100, "height": 50, "visible": True}
    ]
