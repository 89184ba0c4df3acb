"""CDK app: `npx cdk synth|deploy` (cdk.json) or `python app.py` (writes cdk.out/ itself).

Context (cdk.json or -c): rdsaudit:clusters, rdsaudit:instances (names to subscribe), rdsaudit:domainEndpoint and
rdsaudit:domainArn (an existing domain; a new one is created when empty), rdsaudit:alarmEmail,
rdsaudit:archiveBucket (S3 bucket of historical logs for the backfill state machine), rdsaudit:adminRoleArn (the
IAM role of the people administering the domain: its fine-grained access master), rdsaudit:kmsKeyArn (your own
KMS key; empty: one is created), and the optional features named in the README.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from aws_cdk import App, Validations  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from rdsaudit_cdk.stack import RdsAuditStack, StackConfig  # noqa: E402

# Behaviour switches of aws-cdk-lib this app relies on (also in cdk.json for the CLI).
FEATURE_FLAGS = {
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    # aws-cdk-lib's custom resources use the SDK of the Lambda runtime, never one downloaded at deploy time.
    "@aws-cdk/customresources:installLatestAwsSdkDefault": False,
}


def context() -> dict[str, object]:
    """cdk.json's context when run without the CLI (the CLI passes it itself), plus the feature flags."""
    ctx: dict[str, object] = {}
    if "CDK_CONTEXT_JSON" not in os.environ:
        ctx.update(json.loads((HERE / "cdk.json").read_text())["context"])
    return {**ctx, **FEATURE_FLAGS}


def build(app: App) -> RdsAuditStack:
    stack = RdsAuditStack(app, "RdsAudit", config=StackConfig.from_context(app))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


if __name__ == "__main__":
    # The cdk CLI passes the output folder in CDK_OUTDIR; run by hand, write next to this file.
    application = App(outdir=os.environ.get("CDK_OUTDIR") or str(HERE / "cdk.out"), context=context())
    build(application)
    application.synth()
