"""Extra OpenSearch nodes started by a test module through scripts/opensearch.sh, on ports and in a node
directory of their own, so two test runs on one host never stop or wipe each other's nodes."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "opensearch.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def extra_node(kind: str, env: dict[str, str], *, scheme: str = "http", timeout: float = 600) -> Iterator[str]:
    """Start a node named `<kind>-<unique>` on free ports; yield its URL; stop it and remove its directory."""
    port = free_port()
    node_env = {
        **os.environ,
        **env,
        "OPENSEARCH_NAME": f"{kind}-{uuid.uuid4().hex[:8]}",
        "OPENSEARCH_PORT": str(port),
        "OPENSEARCH_TRANSPORT_PORT": str(free_port()),
    }
    up = subprocess.run([str(SCRIPT), "up"], env=node_env, capture_output=True, text=True, check=False, timeout=timeout)
    try:
        if up.returncode != 0:
            pytest.fail(f"could not start the {kind} node: {up.stderr[-3000:]}")
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        subprocess.run([str(SCRIPT), "down"], env=node_env, check=False, timeout=120)
