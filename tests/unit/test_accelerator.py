"""The optional compiled scanner agrees with the pure-Python parser on every line: it is built here from source
(into a temporary directory) and compared line by line, on realistic, pinned, edge-case and generated lines."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handler.transforms import audit_line
from handler.transforms.accelerator import build
from tests.events import mariadb_lines, sample_lines
from tests.events.generate import audit_lines, plugin_escape
from tests.profiles import examples
from tests.unit import pinned


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    try:
        path = build(tmp_path_factory.mktemp("scanner"))
    except (OSError, subprocess.CalledProcessError) as e:
        message = f"no C compiler to build the scanner with: {e}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)  # CI machines have gcc: the scanner must be checked there
        pytest.skip(message)
    spec = importlib.util.spec_from_file_location("_scan", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.scan  # type: ignore[no-any-return]


@pytest.fixture
def accelerated(scan: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(audit_line, "_scan", scan)
    yield


def agree(line: str) -> None:
    assert audit_line.parse_line(line) == audit_line.parse_line_python(line), line


PINNED = pinned.load()
EDGE = [
    *PINNED["lines"],
    *(line for line, _ in PINNED["events"]),
    *sample_lines(),
    *mariadb_lines(),
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'a\\",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'a\\',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'a\\\\',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,''',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'x',0',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'x',1234567890",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'x',-1",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'x',,",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,x,0,TCP/IP,more",
    "20230501 10:02:2é,ip,root,h,8,1,QUERY,,'x',0,,",
    "2023050110:02:2éé,ip,root,h,8,1,QUERY,,'x',0,,",
    "20230501 10:02:20,ip,root,h,123456789012345678,1234567890123456789,QUERY,,'x',0,,",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'" + "é\\'" * 3000 + "',0",  # longer than the stack buffer
]


@pytest.mark.usefixtures("accelerated")
def test_agrees_on_realistic_and_edge_lines(scan: Callable[[str], Any]) -> None:
    realistic = audit_lines(3000, seed=5)
    assert sum(scan(line) is not None for line in realistic) > 2900  # it does take the common lines
    for line in [*realistic, *EDGE]:
        agree(line)


@pytest.mark.usefixtures("accelerated")
def test_pinned_documents_are_byte_identical_with_it() -> None:
    events, ctx, options = pinned.runs(PINNED["lines"], PINNED["events"])["file"]
    assert pinned.transform(events, ctx, options) == PINNED["file"]
    for name in ("cloudwatch", "unmasked"):
        events, ctx, options = pinned.runs(PINNED["lines"], PINNED["events"])[name]
        assert pinned.digest(pinned.transform(events, ctx, options)) == PINNED[name]


_PIECES = st.sampled_from(["\\", "'", ",", "0", "7", "n", "t", "x", "-", " ", "é", "日", "\ud800", "\x00", "\n", ":"])
_FIELD = st.text(_PIECES, max_size=6)


@settings(max_examples=examples(3000))
@given(
    st.sampled_from(["1603440571474649", "20230501 10:02:20", "2023050110:02:2é", "x"]),
    st.lists(_FIELD, min_size=7, max_size=7),
    st.text(_PIECES, max_size=30),
    st.sampled_from(["", "'"]),
    st.text(_PIECES, max_size=10),
)
def test_agrees_on_generated_lines(
    scan: Callable[[str], Any], ts: str, fields: list[str], obj: str, quote: str, tail: str
) -> None:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(audit_line, "_scan", scan)
        agree(",".join([ts, *fields]) + "," + quote + obj + quote + tail)
        agree(",".join([ts, *fields[:4], "12", "34", *fields[6:]]) + ",'" + plugin_escape(obj) + "'," + tail)
