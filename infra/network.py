"""Network: the VPC MWAA runs in (two AZs, private subnets with NAT egress, public subnets holding
only the NAT gateways), the S3 gateway endpoint, encrypted flow logs, and MWAA's security group."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, RemovalPolicy, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import ResourceNames
from infra.log_groups import encrypted_log_group
from infra.nag import acknowledge

# EC2 shows a resource's Name tag; the VPC L2 sets it to the construct path of the VPC, each subnet
# (and what it holds: route table, NAT gateway, EIP) and the flow log.
NAME_TAG = "Name"
# Above the L2s' own Name tags (priority 100), so the first layout's names stay (see below).
OWN_NAME_PRIORITY = 101


def first_layout_path(construct: Construct, child_id: str | None = None) -> str:
    """``construct``'s path (or its child's) without the "Default" ids infra/stack.py inserts to
    keep logical ids: the Name tags stay what they were when the network was first deployed."""
    path = construct.node.path if child_id is None else f"{construct.node.path}/{child_id}"
    return "/".join(part for part in path.split("/") if part != "Default")


@dataclass(frozen=True)
class NetworkProps:
    """The network's size and what encrypts and keeps its flow logs."""

    # Resource names: the MWAA environment the security group serves.
    names: ResourceNames
    # The VPC's address range (``vpc_cidr``) and NAT gateways for the private subnets (``nat_gateways``).
    vpc_cidr: str
    nat_gateways: int
    # The flow logs' retention (``log_retention_days``).
    log_retention_days: int
    # Encrypts the flow-log group.
    key: kms.IKey
    # What ``cdk destroy`` does to the flow-log group (the environment's data removal policy).
    removal_policy: RemovalPolicy


class Network(Construct):
    """Exposes ``vpc`` and ``security_group`` (MWAA's, self-referencing)."""

    def __init__(self, scope: Construct, construct_id: str, props: NetworkProps) -> None:
        super().__init__(scope, construct_id)
        # Without an env, the stack spreads over the first two AZs of the region (Fn::GetAZs).
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=first_layout_path(self, "Vpc"),
            ip_addresses=ec2.IpAddresses.cidr(props.vpc_cidr),
            max_azs=2,
            nat_gateways=props.nat_gateways,
            subnet_configuration=[
                # Holds only the NAT gateways; nothing there gets a public IP by itself.
                ec2.SubnetConfiguration(
                    name="public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
            ],
        )
        # S3 (DAGs, requirements, data) stays off the NAT gateway: the gateway endpoint is free.
        self.vpc.add_gateway_endpoint(
            "S3Endpoint",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)],
        )
        flow_log = self._add_flow_log(props)
        self.security_group = self._build_security_group(props)
        for named in (flow_log, *self.vpc.public_subnets, *self.vpc.private_subnets):
            Tags.of(named).add(NAME_TAG, first_layout_path(named), priority=OWN_NAME_PRIORITY)
        for subnet in self.vpc.public_subnets:
            acknowledge(
                subnet,
                "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                "Public subnets hold only the NAT gateways that give the private MWAA subnets egress; nothing "
                "else runs there and instances get no public IP on launch.",
            )

    def _add_flow_log(self, props: NetworkProps) -> ec2.FlowLog:
        """All the VPC's traffic to an encrypted log group, through a role only flow logs may assume."""
        flow_logs = encrypted_log_group(
            self,
            "FlowLogs",
            key=props.key,
            retention_days=props.log_retention_days,
            removal_policy=props.removal_policy,
        )
        # Confused-deputy conditions as the VPC Flow Logs guide documents them (flow-logs-iam-role.html).
        flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:vpc-flow-log/*"
                    },
                },
            ),
        )
        iam.ManagedPolicy(
            self,
            "FlowLogPolicy",
            roles=[flow_log_role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[flow_logs.log_group_arn],
                )
            ],
        )
        # The role is immutable to CDK, so the flow log adds no inline policy of its own.
        return self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                flow_logs, flow_log_role.without_policy_updates()
            ),
        )

    def _build_security_group(self, props: NetworkProps) -> ec2.SecurityGroup:
        """MWAA's components (scheduler, workers, webserver, its VPC endpoints) talk to each other."""
        group = ec2.SecurityGroup(
            self,
            "MwaaSecurityGroup",
            vpc=self.vpc,
            description=f"{props.names.mwaa_environment}: MWAA components, self-referencing",
            allow_all_outbound=True,
        )
        # MWAA needs HTTPS (webserver, its VPC endpoints) and PostgreSQL (metadata database).
        for port, purpose in ((443, "HTTPS"), (5432, "metadata database")):
            group.add_ingress_rule(group, ec2.Port.tcp(port), f"MWAA components: {purpose}")
        return group

    @property
    def private_subnets(self) -> ec2.SubnetSelection:
        """Where MWAA and the deployment Lambdas run (egress through the NAT)."""
        return ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
