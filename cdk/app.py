"""CDK app: `npx cdk synth|deploy` (cdk.json) or `python app.py` (writes cdk.out/ itself).

Context (cdk.json or -c): rdsaudit:clusters, rdsaudit:instances (names to subscribe), rdsaudit:domainEndpoint and
rdsaudit:domainArn (an existing domain; a new one is created when empty), rdsaudit:alarmEmail,
rdsaudit:archiveBucket (S3 bucket of historical logs for the backfill state machine), rdsaudit:adminRoleArn (the
IAM role of the people administering the domain: its fine-grained access master), rdsaudit:kmsKeyArn (your own
KMS key; empty: one is created), rdsaudit:serverless (timeseries | search: an OpenSearch Serverless collection
instead of a domain, with rdsaudit:collectionName, rdsaudit:serverlessDashboards and rdsaudit:readerRoleArn), and
the optional features named in the README. Organisation-wide collection: rdsaudit:collectFrom (an organisation
id or account ids), rdsaudit:region, rdsaudit:collectRegions, rdsaudit:collectShards add the collecting streams,
the collector and a destination stack per region; rdsaudit:sendTo (a destination ARN) synthesizes the member stack
instead, rdsaudit:assetBucket the bucket its code is read from for StackSets (README, "Many accounts and regions").
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from aws_cdk import App, Stack, Validations  # noqa: E402
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


def build(app: App) -> Stack:
    """The central stack (and, with rdsaudit:collectFrom, a destination stack per collecting region), or with
    rdsaudit:sendTo the member stack alone."""
    config = StackConfig.from_context(app)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    if config.send_to:
        from rdsaudit_cdk.member import MemberStack

        synthesizer = None
        if config.asset_bucket:
            from aws_cdk import DefaultStackSynthesizer

            # StackSets deploy into accounts nobody ran `cdk bootstrap` in: the code comes from one bucket per region
            # that the organisation may read, and the template asks for no bootstrap version (an SSM parameter
            # those accounts do not have).
            synthesizer = DefaultStackSynthesizer(
                file_assets_bucket_name=config.asset_bucket, generate_bootstrap_version_rule=False
            )
        return MemberStack(app, "RdsAuditMember", send_to=config.send_to, synthesizer=synthesizer)
    if not config.collect_from:
        return RdsAuditStack(app, "RdsAudit", config=config)
    from aws_cdk import Environment

    from rdsaudit_cdk.collection import DestinationStack, check_regions, senders

    if not config.region:
        raise ValueError("rdsaudit:collectFrom needs the stack's region: -c rdsaudit:region=… (or AWS_REGION for cdk)")
    organisation, accounts = senders(config.collect_from)
    stack = RdsAuditStack(app, "RdsAudit", config=config)
    for region in check_regions(config.collect_regions or [config.region]):
        destination = DestinationStack(
            app,
            f"RdsAuditDestination-{region}",
            central_region=config.region,
            organisation=organisation,
            accounts=accounts,
            env=Environment(region=region),
        )
        destination.add_stack_dependency(stack)  # the stream and the role exist before the destination is tested
    return stack


if __name__ == "__main__":
    # The cdk CLI passes the output folder in CDK_OUTDIR; run by hand, write next to this file.
    application = App(outdir=os.environ.get("CDK_OUTDIR") or str(HERE / "cdk.out"), context=context())
    build(application)
    application.synth()
