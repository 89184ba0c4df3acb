"""Optional VPC placement: the domain (or the Serverless collection's VPC endpoint) in the given private subnets,
reachable on 443 only from the stack's functions, which run in the same subnets. (The subnets need a route to S3,
KMS and Logs: NAT or VPC endpoints.)"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct


class Network(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc_id: str,
        subnet_ids: list[str],
        availability_zones: list[str],
        target: str = "OpenSearch domain",
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc.from_vpc_attributes(
            self, "Vpc", vpc_id=vpc_id, availability_zones=availability_zones, private_subnet_ids=subnet_ids
        )
        self.subnets = ec2.SubnetSelection(
            subnets=[
                ec2.Subnet.from_subnet_attributes(self, f"Subnet{n}", subnet_id=s, availability_zone=az)
                for n, (s, az) in enumerate(zip(subnet_ids, availability_zones, strict=True))
            ]
        )
        self.clients = ec2.SecurityGroup(
            self, "Clients", vpc=self.vpc, description="rdsaudit functions", allow_all_outbound=True
        )
        # What the functions call: the domain's network interfaces, or the collection's VPC endpoint.
        self.domain = ec2.SecurityGroup(
            self, "Domain", vpc=self.vpc, description=f"rdsaudit {target}", allow_all_outbound=False
        )
        self.domain.add_ingress_rule(self.clients, ec2.Port.tcp(443), "HTTPS from rdsaudit functions only")
        Stack.of(self).rdsaudit_network = self  # type: ignore[attr-defined]

    def function_props(self) -> dict[str, Any]:
        return {"vpc": self.vpc, "vpc_subnets": self.subnets, "security_groups": [self.clients]}

    @staticmethod
    def of(scope: Construct) -> Network | None:
        network: Network | None = getattr(Stack.of(scope), "rdsaudit_network", None)
        return network
