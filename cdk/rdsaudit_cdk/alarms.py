"""Alarms to one SNS topic: forwarder errors and throttles, asynchronous events dropped or not delivered to the
on-failure queue, events on that queue, dead letters written, failed backfill executions, and failed logins in
each audit log group."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from rdsaudit_cdk.forwarder import Forwarder
from rdsaudit_cdk.keys import service_statement

NAMESPACE = "rdsaudit"


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        forwarder: Forwarder,
        audit_groups: list[str],
        email: str,
        threshold: Any,
        period_seconds: Any,
        backfill: sfn.StateMachine | None = None,
        activity_failures: Any = None,
        collection: Any = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = key = kms.Key(self, "TopicKey", enable_key_rotation=True, description="rdsaudit alarm topic")
        stack = Stack.of(self)
        # CloudWatch publishes alarm notifications to the encrypted topic: only for this account's alarms.
        key.add_to_resource_policy(
            service_statement(
                "cloudwatch.amazonaws.com",
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*",
                account=stack.account,
            )
        )
        self.topic = sns.Topic(self, "Topic", master_key=key, enforce_ssl=True, display_name="rdsaudit alarms")
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        action = actions.SnsAction(self.topic)
        five = Duration.minutes(5)

        def alarm(
            name: str, metric: cloudwatch.IMetric, description: str, threshold_value: Any = 0
        ) -> cloudwatch.Alarm:
            a = cloudwatch.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold_value,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            a.add_alarm_action(action)
            return a

        fn = forwarder.function
        alarm(
            "Errors",
            fn.metric_errors(period=five, statistic="Sum"),
            "The forwarder failed invocations (retried by Lambda).",
        )
        alarm("Throttles", fn.metric_throttles(period=five, statistic="Sum"), "The forwarder was throttled.")
        # Asynchronous invocation (AWS/Lambda, "Working with Lambda function metrics"): events Lambda discarded
        # (too old, or retries exhausted with nowhere to go) and events it failed to hand to the on-failure queue.
        alarm(
            "AsyncEventsDropped",
            fn.metric("AsyncEventsDropped", period=five, statistic="Sum"),
            "Lambda dropped forwarder events without delivering them anywhere: they are lost; check the queue.",
        )
        alarm(
            "DestinationDeliveryFailures",
            fn.metric("DestinationDeliveryFailures", period=five, statistic="Sum"),
            "Lambda could not send failed forwarder events to the on-failure queue (permissions, key, queue).",
        )
        if backfill is not None:
            alarm(
                "BackfillExecutionsFailed",
                backfill.metric_failed(period=five, statistic="Sum"),
                "A backfill execution failed (an object could not be indexed); see its Map Run for the item.",
            )
            alarm(
                "BackfillExecutionsTimedOut",
                backfill.metric_timed_out(period=five, statistic="Sum"),
                "A backfill execution timed out.",
            )
        alarm(
            "OnFailureQueue",
            forwarder.on_failure.metric_approximate_number_of_messages_visible(period=five, statistic="Maximum"),
            "Events Lambda gave up on are waiting: fix the cause, then run `rdsaudit replay --queue`.",
        )
        if activity_failures is not None:
            # The stream mapping gives up on a batch after its retries or the record age: only shard and sequence
            # pointers land here, and the records themselves expire with the stream's retention.
            alarm(
                "ActivityOnFailureQueue",
                activity_failures.metric_approximate_number_of_messages_visible(period=five, statistic="Maximum"),
                "Activity Streams records Lambda gave up on: read them from the stream before its retention ends.",
            )
        if collection is not None:
            # Organisation-wide collection: batches given up on (pointers only, as above), and a collector falling
            # behind its streams (IteratorAge: the age of the last record of a batch when Lambda got it).
            alarm(
                "CollectionOnFailureQueue",
                collection.on_failure.metric_approximate_number_of_messages_visible(period=five, statistic="Maximum"),
                "Collected records Lambda gave up on: read them from the stream before its retention ends.",
            )
            alarm(
                "CollectionIteratorAge",
                collection.function.metric("IteratorAge", period=five, statistic="Maximum"),
                "The collector is more than 15 minutes behind a collecting stream: add shards or concurrency.",
                threshold_value=15 * 60 * 1000,
            )
        # The forwarder prints one JSON line per invocation; these count what went to the dead-letter bucket.
        filters: list[tuple[Any, str, str, str, str]] = [
            (
                forwarder.log_group,
                "DeadLetteredDocuments",
                "{ $.dead_lettered > 0 }",
                "$.dead_lettered",
                "OpenSearch rejected documents; they are in the dead-letter bucket with the reason.",
            ),
            (
                forwarder.log_group,
                "DeadLetteredPayloads",
                '{ $.payload_dead_lettered = "*" }',
                "1",
                "A subscription payload could not be decoded; it is in the dead-letter bucket.",
            ),
        ]
        if collection is not None:  # the collector's line says the same in its own log group
            filters += [
                (
                    collection.log_group,
                    "CollectedDeadLetteredDocuments",
                    "{ $.dead_lettered > 0 }",
                    "$.dead_lettered",
                    "OpenSearch rejected collected documents; they are in the dead-letter bucket with the reason.",
                ),
                (
                    collection.log_group,
                    "CollectedDeadLetteredRecords",
                    "{ $.records_dead_lettered > 0 }",
                    "$.records_dead_lettered",
                    "A collected Kinesis record could not be decoded; it is in the dead-letter bucket.",
                ),
            ]
        for group, name, pattern, value, description in filters:
            logs.MetricFilter(
                self,
                f"{name}Filter",
                log_group=group,
                metric_namespace=NAMESPACE,
                metric_name=name,
                filter_pattern=logs.FilterPattern.literal(pattern),
                metric_value=value,
            )
            alarm(
                name,
                cloudwatch.Metric(namespace=NAMESPACE, metric_name=name, period=five, statistic="Sum"),
                description,
            )

        self.failed_login_alarms = []
        for n, group_name in enumerate(audit_groups):
            group = logs.LogGroup.from_log_group_name(self, f"AuditGroup{n}", group_name)
            metric_name = f"FailedLogins-{group_name.strip('/').replace('/', '-')}"
            logs.MetricFilter(
                self,
                f"FailedLoginFilter{n}",
                log_group=group,
                metric_namespace=NAMESPACE,
                metric_name=metric_name,
                filter_pattern=logs.FilterPattern.literal('"FAILED_CONNECT"'),
                metric_value="1",
                default_value=0,
            )
            metric = cloudwatch.Metric(
                namespace=NAMESPACE, metric_name=metric_name, statistic="Sum", period=Duration.minutes(5)
            )
            self.failed_login_alarms.append(
                alarm(f"FailedLogins{n}", metric, f"Failed logins in {group_name}", threshold)
            )
            # The period is a stack parameter (a token), which Metric cannot validate: set it on the template.
            cfn = self.failed_login_alarms[-1].node.default_child
            cfn.add_property_override("Period", period_seconds)  # type: ignore[union-attr]
