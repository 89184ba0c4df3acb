"""Failure destinations on an encrypted queue, granting only what Lambda uses to deliver to them.

aws-cdk-lib's SqsDestination and SqsDlq grant `queue.grantSendMessages`, which on a KMS queue adds kms:Encrypt,
kms:ReEncrypt* and kms:GenerateDataKey*. Lambda delivers failure records with the function's execution role
("Capturing records of Lambda asynchronous invocations", "Lambda event source mappings: on-failure destinations"),
and SQS needs kms:GenerateDataKey and kms:Decrypt from a sender on a KMS queue ("Key management", Amazon SQS
Developer Guide): these, and sqs:SendMessage, are the grants.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def allow_send(role: iam.IRole, queue: sqs.IQueue) -> None:
    role.add_to_principal_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn]))
    if queue.encryption_master_key is not None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[queue.encryption_master_key.key_arn]
            )
        )


@jsii.implements(lambda_.IDestination)
class QueueDestination:
    """Asynchronous invocation's on-failure destination."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def bind(self, _scope: Construct, fn: lambda_.IFunction, *_: Any, **__: Any) -> lambda_.DestinationConfig:
        assert fn.role is not None
        allow_send(fn.role, self.queue)
        return lambda_.DestinationConfig(destination=self.queue.queue_arn)


@jsii.implements(lambda_.IEventSourceDlq)
class QueueOnFailure:
    """An event source mapping's on-failure destination."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def bind(self, _target: Any, target_handler: lambda_.IFunction) -> lambda_.DlqDestinationConfig:
        assert target_handler.role is not None
        allow_send(target_handler.role, self.queue)
        return lambda_.DlqDestinationConfig(destination=self.queue.queue_arn)
