"""The detect function on an EventBridge Scheduler schedule: the window rules over the time since the previous run,
then notifications of new findings to the alarm topic, the event bus and (optionally) Security Hub. Its role holds
what handler/detect calls and nothing more; the schedule's role may only invoke it."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from constructs import Construct

from rdsaudit_cdk.alarms import NAMESPACE
from rdsaudit_cdk.bundling import rdsaudit_function
from rdsaudit_cdk.forwarder import Forwarder
from rdsaudit_cdk.search import SearchBackend

DEFAULT_SCHEDULE = "rate(5 minutes)"


def schedule_expression(value: Any) -> str:
    """`rdsaudit:detectSchedule`: minutes (5), or a Scheduler expression (rate(…), cron(…))."""
    text = str(value).strip()
    if re.fullmatch(r"\d+", text):
        minutes = int(text)
        if minutes < 1:
            raise ValueError("rdsaudit:detectSchedule must be at least 1 minute")
        return f"rate({minutes} minute{'s' if minutes > 1 else ''})"
    if re.fullmatch(r"(rate|cron)\(.+\)", text):
        return text
    raise ValueError(f"rdsaudit:detectSchedule must be minutes, rate(...) or cron(...); got {text!r}")


def detections_json(value: Any) -> str:
    """`rdsaudit:detections`: rule overrides as a JSON object (or its text), passed as RDSAUDIT_DETECTIONS."""
    if value in (None, "", {}):
        return ""
    parsed = json.loads(value) if isinstance(value, str) else value
    if not isinstance(parsed, dict):
        raise ValueError("rdsaudit:detections must be a JSON object of rule overrides")
    return json.dumps(parsed, separators=(",", ":"), sort_keys=True)


class Detect(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        forwarder: Forwarder,
        search: SearchBackend,
        topic: sns.ITopic,
        topic_key: kms.IKey,
        schedule: str = DEFAULT_SCHEDULE,
        event_bus: str = "default",
        security_hub: bool = False,
        renotify_seconds: int = 21600,
        catch_up_seconds: int = 86400,
        detections: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        prefix = forwarder.environment["RDSAUDIT_INDEX_PREFIX"]
        environment = {
            **search.environment,
            "OPENSEARCH_AUTH": "sigv4",
            "RDSAUDIT_INDEX_PREFIX": prefix,
            "RDSAUDIT_MASK_SECRETS": forwarder.environment["RDSAUDIT_MASK_SECRETS"],
            # required in Lambda; the job writes no dead letter (its findings are recomputed by the next run)
            "RDSAUDIT_DEAD_LETTER": f"s3://{forwarder.dead_letters.bucket_name}/detect",
            "RDSAUDIT_DETECT_TOPIC_ARN": topic.topic_arn,
            "RDSAUDIT_DETECT_EVENT_BUS": event_bus,
            "RDSAUDIT_DETECT_SECURITY_HUB": "true" if security_hub else "false",
            "RDSAUDIT_DETECT_RENOTIFY_SECONDS": str(renotify_seconds),
            "RDSAUDIT_DETECT_CATCH_UP_SECONDS": str(catch_up_seconds),
        }
        if detections:
            environment["RDSAUDIT_DETECTIONS"] = detections
        self.function = rdsaudit_function(
            self,
            "Function",
            handler="handler.app.detect_handler",
            timeout=Duration.minutes(5),
            memory_size=512,
            reserved_concurrent_executions=1,  # one run at a time: runs cover consecutive windows
            environment=environment,
            description="rdsaudit detect: window rules, findings, notifications",
        )
        role = self.function.role
        assert role is not None
        search.allow_detector(role, prefix)
        role.add_to_principal_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
        # The topic is encrypted: SNS asks KMS for a data key with the publisher's permissions ("Encryption at
        # rest", Amazon SNS Developer Guide: kms:GenerateDataKey* and kms:Decrypt for publishers; SNS calls
        # GenerateDataKey).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[topic_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sns.{stack.region}.amazonaws.com"}},
            )
        )
        bus_arn = stack.format_arn(service="events", resource="event-bus", resource_name=event_bus)
        role.add_to_principal_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus_arn]))
        if security_hub:
            product = (
                f"arn:{stack.partition}:securityhub:{stack.region}:{stack.account}:product/{stack.account}/default"
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["securityhub:BatchImportFindings"], resources=[product])
            )
        self.schedule_role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="rdsaudit detect schedule: invokes the detect function",
        )
        self.schedule_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            schedule_expression=schedule,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            description="rdsaudit detect: every run covers the time since the previous one",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.function.function_arn,
                role_arn=self.schedule_role.role_arn,
                # the scheduled time, not the invocation's: a retried invocation covers the same moment
                input=json.dumps({"scheduled_time": "<aws.scheduler.scheduled-time>"}),
                # a missed run is covered by the next one (it reads since the previous run)
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=0),
            ),
        )
        self._alarms(topic)

    def _alarms(self, topic: sns.ITopic) -> None:
        """A run that failed, and a run whose notifications failed (its JSON line at ERROR: they are sent by the
        next run, but someone should know a channel is down)."""
        five = Duration.minutes(5)
        logs.MetricFilter(
            self,
            "NotifyFailedFilter",
            log_group=self.function.log_group,
            metric_namespace=NAMESPACE,
            metric_name="DetectNotifyFailed",
            filter_pattern=logs.FilterPattern.literal('{ $.msg = "detect" && $.level = "ERROR" }'),
            metric_value="1",
        )
        for name, metric, description in (
            ("Errors", self.function.metric_errors(period=five, statistic="Sum"), "A detect run failed."),
            (
                "NotifyFailed",
                cloudwatch.Metric(namespace=NAMESPACE, metric_name="DetectNotifyFailed", period=five, statistic="Sum"),
                "Findings could not be sent on a channel (SNS, EventBridge or Security Hub); the next run retries.",
            ),
        ):
            alarm = cloudwatch.Alarm(
                self,
                f"{name}Alarm",
                metric=metric,
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            alarm.add_alarm_action(actions.SnsAction(topic))
