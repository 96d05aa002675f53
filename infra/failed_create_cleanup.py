"""Let CloudFormation roll back a failed first create of a stack whose data is retained.

Retained data resources use ``DeletionPolicy: RetainExceptOnCreate`` (CDK
``RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE``): an update or a delete keeps them, a failed create
deletes them so that a retry finds their fixed names free. Two things would still block that
rollback delete: buckets that received objects during the create (the DAG upload, S3 access
logs) and DynamoDB deletion protection. This custom resource removes both, and only then: its
handler acts on ``Delete`` solely while the stack is ``ROLLBACK_IN_PROGRESS``, the status of a
failed create (a failed update is ``UPDATE_ROLLBACK_IN_PROGRESS``, a delete ``DELETE_IN_PROGRESS``;
docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html#cfn-console-view-stack-data-resources-status-codes).
It depends on the buckets and tables it names, so CloudFormation deletes it before them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.log_groups import encrypted_log_group
from infra.nag import acknowledge, objects_of

# The handler's source, deployed inline (Lambda's ZipFile): standard library and boto3 only.
HANDLER_SOURCE = Path(__file__).resolve().parent / "failed_create_handler" / "index.py"


@dataclass(frozen=True)
class FailedCreateCleanupProps:
    """What the cleanup may empty or unprotect, and its handler's logs."""

    # The retained buckets, emptied (every object version) on a failed create's rollback.
    buckets: tuple[s3.IBucket, ...]
    # The retained tables whose deletion protection is lifted on that rollback.
    tables: tuple[dynamodb.ITable, ...]
    # Encrypts the handler's log group.
    key: kms.IKey
    # The handler's log retention (the config key ``log_retention_days``).
    log_retention_days: int


class FailedCreateCleanup(Construct):
    """The custom resource (``resource``) and its handler (``function``, ``role``)."""

    def __init__(self, scope: Construct, construct_id: str, props: FailedCreateCleanupProps) -> None:
        super().__init__(scope, construct_id)
        log_group = encrypted_log_group(
            self,
            "Logs",
            key=props.key,
            retention_days=props.log_retention_days,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            # A passed role (iam:PassRole guards it): Lambda documents no source condition for it.
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Empties retained buckets and unprotects tables, only on a failed create's rollback",
        )
        self.policy = iam.ManagedPolicy(
            self, "Policy", roles=[self.role], statements=self._handler_statements(props, log_group)
        )
        self.function = self._build_handler(log_group)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type="Custom::FailedCreateCleanup",
            properties={
                "Buckets": [b.bucket_name for b in props.buckets],
                "Tables": [t.table_name for t in props.tables],
            },
        )
        self._acknowledge_findings(props)

    def _handler_statements(
        self, props: FailedCreateCleanupProps, log_group: logs.ILogGroup
    ) -> list[iam.PolicyStatement]:
        """Read its own stack's status, empty the retained buckets, unprotect the tables, log."""
        return [
            iam.PolicyStatement(
                sid="ReadOwnStackStatus",
                actions=["cloudformation:DescribeStacks"],
                resources=[Stack.of(self).stack_id],
            ),
            iam.PolicyStatement(
                sid="ListRetainedBuckets",
                actions=["s3:ListBucket", "s3:ListBucketVersions"],
                resources=[b.bucket_arn for b in props.buckets],
            ),
            iam.PolicyStatement(
                sid="EmptyRetainedBuckets",
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[b.arn_for_objects("*") for b in props.buckets],
            ),
            iam.PolicyStatement(
                sid="UnprotectRetainedTables",
                actions=["dynamodb:UpdateTable"],
                resources=[t.table_arn for t in props.tables],
            ),
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
        ]

    def _build_handler(self, log_group: logs.ILogGroup) -> lambda_.Function:
        """The inline handler (`HANDLER_SOURCE`) on ``role``, created once its policy exists."""
        function = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER_SOURCE.read_text()),
            timeout=Duration.minutes(15),
            memory_size=256,
            role=self.role.without_policy_updates(),
            log_group=log_group,
            description="Rollback of a failed first create: empty retained buckets, lift deletion protection",
        )
        function.node.add_dependency(self.policy)
        return function

    def _acknowledge_findings(self, props: FailedCreateCleanupProps) -> None:
        """The emptying grant and the handler's placement, each with why it stays."""
        for bucket in props.buckets:
            acknowledge(
                self.policy,
                f"AwsSolutions-IAM5[{objects_of(bucket)}]",
                "Emptying a bucket deletes every object version in it; used only while the stack's first "
                "create rolls back (ROLLBACK_IN_PROGRESS), when no data exists yet.",
            )
        outside_vpc = (
            "It must exist before the VPC's resources are created and outlive them on rollback "
            "(they depend on it), so it cannot run inside that VPC; it calls only AWS APIs."
        )
        acknowledge(self.function, "NIST.800.53.R5-LambdaInsideVPC", outside_vpc)
        acknowledge(self.function, "lambda_inside_vpc_check", outside_vpc)
        acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaConcurrency",
            "Invoked by CloudFormation at most once per stack operation; a reserved concurrency would "
            "fail the first deploy in accounts whose concurrency limit is still 10 (new accounts).",
        )
        acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaDLQ",
            "Invoked by CloudFormation as a custom resource; CloudFormation records a failed answer and "
            "stops the rollback, so a dead-letter queue would receive nothing.",
        )
