"""The Lambda asset installs requirements.lock (hash-checked); the development environment installs
requirements.txt. They must name the same packages at the same versions, each with a hash."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pins(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s\\;#]+)", line.strip())
        if m:
            found[m.group(1).lower().replace("_", "-")] = m.group(2)
    return found


def test_lock_and_requirements_agree_on_every_version() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    assert pins(lock) == pins((ROOT / "requirements.txt").read_text())


def test_every_locked_package_has_a_sha256() -> None:
    entries = re.split(r"\n(?=[A-Za-z])", (ROOT / "requirements.lock").read_text().split("\n\n", 1)[1].strip())
    assert entries and all(re.search(r"--hash=sha256:[0-9a-f]{64}", e) for e in entries), entries


def test_the_bundling_installs_the_lock_with_hashes() -> None:
    source = (ROOT / "cdk" / "rdsaudit_cdk" / "bundling.py").read_text()
    assert '"--require-hashes"' in source and 'ROOT / "requirements.lock"' in source
    assert "requirements.txt" not in source.split("def lambda_code", 1)[0].split("class LocalBundling", 1)[1]
