"""Docker-free Lambda asset: handler/ (with mappings/ inside) plus requirements.lock installed for arm64, every
file checked against its pinned hash (pip --require-hashes)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
PYTHON_VERSION = "3.14"  # the asset's wheels are installed for this runtime
PLATFORM = "manylinux2014_aarch64"  # and this architecture (Graviton)
RUNTIME = lambda_.Runtime.PYTHON_3_14


def source_hash() -> str:
    """Changes exactly when the code, the mappings or the pinned requirements change."""
    h = hashlib.sha256()
    for folder in ("handler", "mappings"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and "_mappings" not in path.parts:
                h.update(str(path.relative_to(ROOT)).encode())
                h.update(path.read_bytes())
    h.update((ROOT / "requirements.lock").read_bytes())
    h.update(PYTHON_VERSION.encode())
    return h.hexdigest()


@jsii.implements(ILocalBundling)
class LocalBundling:
    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        out = Path(output_dir)
        shutil.copytree(ROOT / "handler", out / "handler", ignore=shutil.ignore_patterns("__pycache__", "_mappings"))
        shutil.copytree(ROOT / "mappings", out / "handler" / "_mappings")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--platform",
                PLATFORM,
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "--python-version",
                PYTHON_VERSION,
                "--require-hashes",  # every wheel must match the lock: no substitution on the index
                "--no-deps",  # the lock is the whole closure
                "--target",
                str(out),
                "-r",
                str(ROOT / "requirements.lock"),
            ],
            check=True,
        )
        return True


def rdsaudit_function(scope: Construct, construct_id: str, *, handler: str, **props: Any) -> lambda_.Function:
    """A function running the rdsaudit package: the one runtime, architecture and asset for all of them, in the
    stack's VPC when it has one."""
    from rdsaudit_cdk.log_groups import retained_log_group
    from rdsaudit_cdk.network import Network

    network = Network.of(scope)
    if network is not None:
        props = {**network.function_props(), **props}
    if "log_group" not in props:  # every function logs to a group with the stack's retention
        props["log_group"] = retained_log_group(scope, f"{construct_id}Logs")
    return lambda_.Function(
        scope,
        construct_id,
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        handler=handler,
        code=lambda_code(),
        **props,
    )


def lambda_code() -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(ROOT / "handler"),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=source_hash(),
        bundling=BundlingOptions(image=DockerImage.from_registry("scratch"), command=["true"], local=LocalBundling()),
    )
