"""The rdsaudit stack: from nothing to audit logs flowing, secure by default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Annotations, App, CfnParameter, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from rdsaudit_cdk.activity import ACTIVITY_PREFIX, ActivityStreams
from rdsaudit_cdk.alarms import Alarms
from rdsaudit_cdk.autosubscribe import AutoSubscribe
from rdsaudit_cdk.backfill import Backfill
from rdsaudit_cdk.detect import Detect, detections_json, schedule_expression
from rdsaudit_cdk.domain import SearchDomain
from rdsaudit_cdk.exporter import Exporter
from rdsaudit_cdk.forwarder import Forwarder
from rdsaudit_cdk.keys import DataKey
from rdsaudit_cdk.log_groups import retained_log_group, retention_parameter
from rdsaudit_cdk.nag import acknowledge
from rdsaudit_cdk.network import Network
from rdsaudit_cdk.operators import Operators
from rdsaudit_cdk.search import SearchBackend
from rdsaudit_cdk.serverless import ServerlessCollection
from rdsaudit_cdk.setup_resource import Setup


@dataclass(frozen=True)
class StackConfig:
    clusters: list[str] = field(default_factory=list)  # Aurora clusters: /aws/rds/cluster/<name>/audit
    instances: list[str] = field(default_factory=list)  # RDS instances: /aws/rds/instance/<id>/audit
    domain_endpoint: str = ""  # import an existing domain (with domain_arn); empty: create one
    domain_arn: str = ""
    alarm_email: str = ""
    archive_bucket: str = ""  # historical logs for the backfill state machine
    activity_stream_arn: str = ""  # Aurora Database Activity Streams: the aws-rds-das-<id> stream,
    activity_kms_key_arn: str = ""  # the key the stream is encrypted with,
    activity_cluster_id: str = ""  # and the cluster resource id (the encryption context)
    auto_subscribe: bool = False  # subscribe audit log groups of clusters created later, via CloudTrail
    export_instances: list[str] = field(default_factory=list)  # RDS log-file exporter: instances to copy to S3
    vpc_id: str = ""  # optional: put the created domain and the functions in these private subnets
    vpc_subnet_ids: list[str] = field(default_factory=list)
    vpc_availability_zones: list[str] = field(default_factory=list)
    admin_role_arn: str = ""  # the people's IAM role: the created domain's fine-grained access master
    kms_key_arn: str = ""  # bring your own key for the domain, dead letters, queues and archive; empty: create one
    export_index: bool = False  # the exporter also indexes what it copies
    serverless: str = ""  # timeseries | search: an OpenSearch Serverless collection instead of a domain
    collection_name: str = "rdsaudit"  # that collection's name
    serverless_dashboards: bool = False  # its Dashboards reachable (from the collection's network), or not at all
    reader_role_arn: str = ""  # Serverless: a role that may read the indices (data access policy)
    collect_from: list[str] = field(default_factory=list)  # organisation-wide collection: o-… or account ids
    collect_regions: list[str] = field(default_factory=list)  # …from these regions (default: the stack's)
    collect_shards: int = 0  # shards per collecting stream; 0: on-demand
    region: str = ""  # the stack's region, needed by collection (rdsaudit:region, else CDK_DEFAULT_REGION)
    send_to: str = ""  # member stack: the central destination's ARN (region `*`: the stack's own)
    detect_schedule: str = "rate(5 minutes)"  # the detect function's schedule (minutes, rate(…), cron(…)); off: none
    detect_event_bus: str = "default"  # EventBridge bus for findings
    detect_security_hub: bool = False  # also import findings into Security Hub
    detect_renotify_seconds: int = 21600  # a rule and key is notified again only after this long
    detect_catch_up_seconds: int = 86400  # a channel turned on later tells findings at most this much older
    detections: str = ""  # rule overrides (JSON) for RDSAUDIT_DETECTIONS
    detect_channels: list[str] = field(default_factory=list)  # the findings' channels the context set explicitly
    asset_bucket: str = ""  # member stack: where its Lambda code is read from (`${AWS::Region}` allowed), no bootstrap

    @classmethod
    def from_context(cls, app: App | Construct) -> StackConfig:
        def ctx(name: str, default: Any) -> Any:
            value = app.node.try_get_context(f"rdsaudit:{name}")
            if isinstance(default, list) and isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            return default if value is None else value

        return cls(
            clusters=list(ctx("clusters", [])),
            instances=list(ctx("instances", [])),
            domain_endpoint=str(ctx("domainEndpoint", "")),
            domain_arn=str(ctx("domainArn", "")),
            alarm_email=str(ctx("alarmEmail", "")),
            archive_bucket=str(ctx("archiveBucket", "")),
            activity_stream_arn=str(ctx("activityStreamArn", "")),
            activity_kms_key_arn=str(ctx("activityKmsKeyArn", "")),
            activity_cluster_id=str(ctx("activityClusterId", "")),
            auto_subscribe=str(ctx("autoSubscribe", "false")).lower() == "true",
            export_instances=list(ctx("exportInstances", [])),
            vpc_id=str(ctx("vpcId", "")),
            vpc_subnet_ids=list(ctx("vpcSubnetIds", [])),
            vpc_availability_zones=list(ctx("vpcAvailabilityZones", [])),
            admin_role_arn=str(ctx("adminRoleArn", "")),
            kms_key_arn=str(ctx("kmsKeyArn", "")),
            export_index=str(ctx("exportIndex", "false")).lower() == "true",
            serverless=str(ctx("serverless", "")).strip().lower(),
            collection_name=str(ctx("collectionName", "rdsaudit")),
            serverless_dashboards=str(ctx("serverlessDashboards", "false")).lower() == "true",
            reader_role_arn=str(ctx("readerRoleArn", "")),
            collect_from=list(ctx("collectFrom", [])),
            collect_regions=list(ctx("collectRegions", [])),
            collect_shards=int(ctx("collectShards", 0)),
            region=str(ctx("region", "") or os.environ.get("CDK_DEFAULT_REGION", "")),
            send_to=str(ctx("sendTo", "")).strip(),
            detect_schedule=str(ctx("detectSchedule", "rate(5 minutes)")).strip(),
            detect_event_bus=str(ctx("detectEventBus", "default")).strip(),
            detect_security_hub=str(ctx("detectSecurityHub", "false")).lower() == "true",
            detect_renotify_seconds=int(ctx("detectRenotifySeconds", 21600)),
            detect_catch_up_seconds=int(ctx("detectCatchUpSeconds", 86400)),
            detections=detections_json(ctx("detections", "")),
            asset_bucket=str(ctx("assetBucket", "")).strip(),
            detect_channels=[
                f"rdsaudit:{name}"
                for name, asked in (
                    ("detectEventBus", bool(str(ctx("detectEventBus", "")).strip())),
                    ("detectSecurityHub", str(ctx("detectSecurityHub", "false")).lower() == "true"),
                )
                if asked
            ],
        )


class RdsAuditStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(
            scope, construct_id, description="rdsaudit: RDS and Aurora MySQL audit logs into OpenSearch", **kwargs
        )
        params = {
            "memory": CfnParameter(
                self,
                "ForwarderMemory",
                type="Number",
                default=256,
                min_value=128,
                max_value=10240,
                description="Forwarder memory (MB)",
            ),
            "timeout": CfnParameter(
                self,
                "ForwarderTimeout",
                type="Number",
                default=120,
                min_value=10,
                max_value=900,
                description="Forwarder timeout (seconds)",
            ),
            "concurrency": CfnParameter(
                self,
                "ForwarderReservedConcurrency",
                type="Number",
                default=10,
                min_value=1,
                description="Forwarder reserved concurrency (protects the cluster)",
            ),
            "prefix": CfnParameter(
                self,
                "IndexPrefix",
                type="String",
                default="rdsaudit",
                allowed_pattern="[a-z0-9][a-z0-9_.+-]*",
                description="Daily indices <prefix>-YYYY.MM.DD",
            ),
            "mask": CfnParameter(
                self,
                "MaskSql",
                type="String",
                default="true",
                allowed_values=["true", "false"],
                description="Mask passwords in SQL",
            ),
            "retention": CfnParameter(
                self,
                "RetentionDays",
                type="Number",
                default=90,
                min_value=1,
                description="Delete daily indices after this many days (ISM; on Serverless, a lifecycle policy)",
            ),
            "findings_retention": CfnParameter(
                self,
                "FindingsRetentionDays",
                type="Number",
                default=400,
                min_value=1,
                description="Delete daily findings indices after this many days (their own ISM policy)",
            ),
            "dead_letter_days": CfnParameter(
                self,
                "DeadLetterRetentionDays",
                type="Number",
                default=365,
                min_value=1,
                description="Keep dead letters this many days",
            ),
        }
        network = None
        if config.vpc_id:
            network = Network(
                self,
                "Network",
                vpc_id=config.vpc_id,
                subnet_ids=config.vpc_subnet_ids,
                availability_zones=config.vpc_availability_zones,
                target="OpenSearch Serverless VPC endpoint" if config.serverless else "OpenSearch domain",
            )
        if network is not None:
            acknowledge(
                self,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaVPCAccessExecutionRole]",
                "Lambda's own policy for creating the network interfaces of functions in the VPC.",
            )
        retention_parameter(self)
        DataKey(self, "DataKey", key_arn=config.kms_key_arn)
        search = search_backend(self, config, network)
        forwarder = Forwarder(self, "Forwarder", search=search, params=params)
        # Every role that writes: mapped to rdsaudit_writer by setup on a domain, named in the data access policy
        # of a collection.
        operators = Operators(self, "Operators", forwarder=forwarder, search=search)
        writers: list[iam.IRole] = [forwarder.function.role, operators.replay_role]  # type: ignore[list-item]
        backfill = Backfill(self, "Backfill", search=search, forwarder=forwarder, archive_bucket=config.archive_bucket)
        if config.archive_bucket:
            writers.append(backfill.function.role)  # type: ignore[arg-type]
        activity = None
        if config.activity_stream_arn:
            activity = ActivityStreams(
                self,
                "ActivityStreams",
                search=search,
                forwarder=forwarder,
                stream_arn=config.activity_stream_arn,
                kms_key_arn=config.activity_kms_key_arn,
                cluster_resource_id=config.activity_cluster_id,
            )
            writers.append(activity.function.role)  # type: ignore[arg-type]
        collection = None
        if config.collect_from:
            from rdsaudit_cdk.collection import Collection, check_regions, senders

            organisation, accounts = senders(config.collect_from)
            collection = Collection(
                self,
                "Collection",
                search=search,
                forwarder=forwarder,
                organisation=organisation,
                accounts=accounts,
                regions=check_regions(config.collect_regions or [config.region]),
                central_region=config.region,
                shards=config.collect_shards,
                params=params,
            )
            writers.append(collection.function.role)  # type: ignore[arg-type]
        if config.export_instances:
            exporter = Exporter(
                self,
                "Exporter",
                forwarder=forwarder,
                search=search,
                instances=config.export_instances,
                archive_bucket=config.archive_bucket,
                index=config.export_index,
            )
            if config.export_index:
                writers.append(exporter.function.role)  # type: ignore[arg-type]
        groups = [f"/aws/rds/cluster/{name}/audit" for name in config.clusters]
        groups += [f"/aws/rds/instance/{name}/audit" for name in config.instances]
        if groups:  # the failed-login alarm parameters exist only when there are groups to watch
            params["failed_threshold"] = CfnParameter(
                self,
                "FailedLoginThreshold",
                type="Number",
                default=10,
                min_value=1,
                description="Failed logins per period that raise the alarm",
            )
            params["failed_period"] = CfnParameter(
                self,
                "FailedLoginPeriodSeconds",
                type="Number",
                default="300",
                allowed_values=["60", "300", "900", "3600"],
                description="Failed-login alarm period (seconds)",
            )
        alarms = Alarms(
            self,
            "Alarms",
            forwarder=forwarder,
            audit_groups=groups,
            email=config.alarm_email,
            threshold=params["failed_threshold"].value_as_number if groups else 0,
            period_seconds=params["failed_period"].value_as_number if groups else 300,
            backfill=backfill.state_machine,
            activity_failures=activity.on_failure if activity is not None else None,
            collection=collection,
        )
        detect = None
        if config.detect_schedule.lower() != "off" and not search.keeps_document_ids:
            # Findings are written under their own ids, which the collection refuses: every scheduled run would
            # fail (handler/setup/engine.py, Engine.check_detect). The event rules still tag documents at ingest.
            # Dropping what someone asked for by name would lose their notifications silently: that stops the synth;
            # otherwise a warning, since the default schedule's window rules and findings are gone too.
            if config.detect_channels:
                raise ValueError(
                    f"{' and '.join(config.detect_channels)} set, but a {config.serverless} collection cannot have"
                    " the Detect function that sends findings (it refuses their document ids);"
                    " use rdsaudit:serverless=search"
                )
            Annotations.of(self).add_warning_v2(
                "rdsaudit:detectOnCollection",
                f"rdsaudit: no scheduled Detect function on a {config.serverless} collection (it refuses the findings' "
                "document ids); use a search collection for window rules and findings",
            )
        elif config.detect_schedule.lower() != "off":
            detect = Detect(
                self,
                "Detect",
                forwarder=forwarder,
                search=search,
                topic=alarms.topic,
                topic_key=alarms.key,
                schedule=schedule_expression(config.detect_schedule),
                event_bus=config.detect_event_bus,
                security_hub=config.detect_security_hub,
                renotify_seconds=config.detect_renotify_seconds,
                catch_up_seconds=config.detect_catch_up_seconds,
                detections=config.detections,
            )
        setup = Setup(
            self,
            "Setup",
            search=search,
            writer_roles=writers,
            environment=forwarder.environment,
            retention_days=params["retention"].value_as_number,
            findings_retention_days=params["findings_retention"].value_as_number,
            activity_prefix=ACTIVITY_PREFIX,
            detector_roles=[detect.function.role] if detect is not None else [],  # type: ignore[list-item]
        )
        # One permission covers every RDS audit log group of this account and region.
        forwarder.function.add_permission(
            "InvokeFromRdsAuditLogs",
            principal=iam.ServicePrincipal("logs.amazonaws.com"),
            source_account=self.account,
            source_arn=f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:/aws/rds/*",
        )
        self.subscriptions = []
        for n, group in enumerate(groups):
            sub = logs.CfnSubscriptionFilter(
                self,
                f"Subscription{n}",
                log_group_name=group,
                filter_pattern="",
                destination_arn=forwarder.function.function_arn,
                filter_name="rdsaudit",
            )
            # No document may arrive before the template exists, nor before Logs may invoke the function.
            if setup.resource is not None:
                sub.node.add_dependency(setup.resource)
            sub.node.add_dependency(forwarder.function.node.find_child("InvokeFromRdsAuditLogs"))
            self.subscriptions.append(sub)

        if config.auto_subscribe:
            AutoSubscribe(self, "AutoSubscribe", forwarder=forwarder.function)
        acknowledge(
            self,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "The CDK custom-resource provider framework's own functions use the basic execution role.",
        )
        singleton_logs(self)


def search_backend(stack: Stack, config: StackConfig, network: Network | None) -> SearchBackend:
    """A collection (`rdsaudit:serverless`), an existing domain (`rdsaudit:domainEndpoint`), or a new domain."""
    if config.serverless:
        if config.domain_endpoint or config.domain_arn:
            raise ValueError("rdsaudit:serverless creates a collection: leave rdsaudit:domainEndpoint/domainArn empty")
        return ServerlessCollection(
            stack,
            "Serverless",
            collection_type=config.serverless,
            name=config.collection_name,
            network=network,
            admin_role_arn=config.admin_role_arn,
            reader_role_arn=config.reader_role_arn,
            dashboards=config.serverless_dashboards,
        )
    if config.reader_role_arn or config.serverless_dashboards:
        raise ValueError(
            "rdsaudit:readerRoleArn and rdsaudit:serverlessDashboards apply to a Serverless collection "
            "(rdsaudit:serverless); on a domain, map readers to rdsaudit_reader"
        )
    return SearchDomain(
        stack,
        "Search",
        endpoint=config.domain_endpoint,
        arn=config.domain_arn,
        network=network,
        admin_role_arn=config.admin_role_arn,
    )


def singleton_logs(stack: Stack) -> None:
    """aws-cdk-lib's own custom-resource function (the domain's log and access policies) logs to a group with the
    stack's retention too: Lambda writes where LoggingConfig.LogGroup says, a group that exists before it runs."""
    from aws_cdk import aws_lambda as lambda_

    singleton = stack.node.try_find_child("AWS679f53fac002430cb0da5b7982bd2287")
    if singleton is None:
        return
    group = retained_log_group(stack, "CustomResourceLogs")
    acknowledge(
        singleton,
        "AwsSolutions-IAM5[Action::kms:List*]",
        "aws-cdk-lib's domain custom resource reads the domain's KMS key metadata when it updates the domain.",
    )
    acknowledge(
        singleton,
        "AwsSolutions-IAM5[Action::kms:Describe*]",
        "aws-cdk-lib's domain custom resource reads the domain's KMS key metadata when it updates the domain.",
    )
    cfn = singleton.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    cfn.add_property_override("LoggingConfig", {"LogGroup": group.log_group_name})
