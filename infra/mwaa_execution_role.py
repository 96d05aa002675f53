"""MWAA's execution role: AWS's documented execution-role policy scoped to one environment, what the
DAG itself does (data bucket, Glue job, its secrets, alerts, metrics), and the cdk-nag findings on
that policy that stay, each acknowledged with its reason."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge, objects_of
from infra.pipeline_task_permissions import alert_and_metric_statements, data_and_glue_statements

# What AWS's MWAA execution-role policy grants on the source bucket (mwaa-create-role.html).
MWAA_SOURCE_BUCKET_READ_ACTIONS = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]


@dataclass(frozen=True)
class MwaaExecutionRoleProps:
    """The environment the role serves and what its DAG may touch."""

    # The MWAA environment's name: the trust conditions, its log groups and metrics are scoped to it.
    environment_name: str
    # The SSM prefix the secrets backend reads the Airflow variables and connections under.
    ssm_prefix: str
    # Encrypts the environment (its queue, source objects, parameters) and the data.
    key: kms.IKey
    # MWAA's source bucket: dags/, requirements/ and plugins/ (read-only).
    source_bucket: s3.IBucket
    # The DAG's data: it lists raw files, writes manifests, archives processed files.
    data_bucket: s3.IBucket
    # The Glue job the DAG starts, follows and stops.
    glue_job_arn: str
    # The alert topic the DAG's failure callback publishes to, and the topic's own key.
    alert_topic_arn: str
    alert_key: kms.IKey


class MwaaExecutionRole(Construct):
    """Exposes ``role`` and ``policy`` (the customer-managed policy attached to it)."""

    def __init__(self, scope: Construct, construct_id: str, props: MwaaExecutionRoleProps) -> None:
        super().__init__(scope, construct_id)
        environment_arn = (
            f"arn:{Aws.PARTITION}:airflow:{Aws.REGION}:{Aws.ACCOUNT_ID}:environment/{props.environment_name}"
        )
        # Confused-deputy conditions as MWAA's execution-role guide documents them (mwaa-create-role.html).
        trust_conditions = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": environment_arn},
        }
        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com", conditions=trust_conditions),
                iam.ServicePrincipal("airflow-env.amazonaws.com", conditions=trust_conditions),
            ),
            description=f"{props.environment_name}: MWAA execution role",
        )
        # A customer-managed policy rather than an inline one (NIST IAMNoInlinePolicy).
        self.policy = iam.ManagedPolicy(
            self,
            "ExecutionPolicy",
            statements=[*_mwaa_service_statements(props, environment_arn), *_dag_statements(props)],
            roles=[self.role],
        )
        _acknowledge_findings(self.policy, props)


def _mwaa_service_statements(
    props: MwaaExecutionRoleProps, environment_arn: str
) -> list[iam.PolicyStatement]:
    """MWAA's documented execution-role policy (mwaa-create-role.html), scoped to this environment."""
    region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
    return [
        iam.PolicyStatement(
            sid="PublishAirflowMetrics", actions=["airflow:PublishMetrics"], resources=[environment_arn]
        ),
        iam.PolicyStatement(
            sid="ReadSourceBucket",
            # MWAA's documented execution-role policy, for this one bucket (mwaa-create-role.html).
            actions=MWAA_SOURCE_BUCKET_READ_ACTIONS,
            resources=[props.source_bucket.bucket_arn, props.source_bucket.arn_for_objects("*")],
        ),
        iam.PolicyStatement(
            sid="CheckPublicAccessBlock",
            actions=["s3:GetAccountPublicAccessBlock", "s3:GetBucketPublicAccessBlock"],
            resources=["*"],  # MWAA checks the account-level block, which has no bucket ARN
        ),
        iam.PolicyStatement(
            sid="WriteAirflowLogs",
            actions=[
                "logs:CreateLogStream",
                "logs:CreateLogGroup",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:GetLogRecord",
                "logs:GetLogGroupFields",
                "logs:GetQueryResults",
            ],
            resources=[
                f"arn:{Aws.PARTITION}:logs:{region_account}:log-group:airflow-{props.environment_name}-*"
            ],
        ),
        iam.PolicyStatement(
            sid="DescribeLogGroups",
            actions=["logs:DescribeLogGroups"],
            resources=["*"],  # a List action without resource-level permissions
        ),
        iam.PolicyStatement(
            sid="PublishMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],  # no resource type; scoped by namespace below
            conditions={"StringEquals": {"cloudwatch:namespace": ["AmazonMWAA", "AWS/MWAA"]}},
        ),
        iam.PolicyStatement(
            sid="UseCeleryQueue",
            actions=[
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            # MWAA owns the Celery queue in a service account; its name starts with airflow-celery-.
            resources=[f"arn:{Aws.PARTITION}:sqs:{Aws.REGION}:*:airflow-celery-*"],
        ),
        iam.PolicyStatement(
            sid="UseEnvironmentKeyThroughServices",
            actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"],
            resources=[props.key.key_arn, props.alert_key.key_arn],
            conditions={
                "StringEquals": {
                    "kms:ViaService": [
                        f"{service}.{Aws.REGION}.amazonaws.com" for service in ("sqs", "s3", "sns", "ssm")
                    ]
                }
            },
        ),
    ]


def _dag_statements(props: MwaaExecutionRoleProps) -> list[iam.PolicyStatement]:
    """What the DAG itself does: the data bucket, the Glue job, its secrets, its alerts."""
    region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
    return [
        *data_and_glue_statements(props.data_bucket, props.glue_job_arn),
        iam.PolicyStatement(
            sid="ReadAirflowSecrets",
            actions=["ssm:GetParameter", "ssm:GetParameters"],
            resources=[f"arn:{Aws.PARTITION}:ssm:{region_account}:parameter{props.ssm_prefix}/*"],
        ),
        *alert_and_metric_statements(props.alert_topic_arn),
    ]


def _acknowledge_findings(policy: iam.ManagedPolicy, props: MwaaExecutionRoleProps) -> None:
    """The execution policy's wildcards cdk-nag reports, each with why it stays."""
    findings = {
        f"AwsSolutions-IAM5[{objects_of(props.data_bucket)}]": (
            "The DAG lists reference and raw files, writes manifests and moves raw files to archived_data/; "
            "the keys are data-driven, so the grant covers the bucket's objects with explicit actions only."
        ),
        f"AwsSolutions-IAM5[{objects_of(props.source_bucket)}]": (
            "MWAA reads the DAG folder and requirements.txt from its source bucket (read-only actions)."
        ),
        **{
            f"AwsSolutions-IAM5[Action::{action}]": (
                "AWS's documented MWAA execution-role policy grants s3:GetObject*, s3:GetBucket* and s3:List* "
                "on the source bucket; scoped to that one bucket and its objects."
            )
            for action in MWAA_SOURCE_BUCKET_READ_ACTIONS
        },
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
        f"airflow-{props.environment_name}-*]": (
            "MWAA writes its five log types to log groups it names airflow-<environment>-<LogType>; scoped "
            "to this environment's prefix as the MWAA execution-role documentation prescribes."
        ),
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:*:airflow-celery-*]": (
            "The Celery queue lives in an MWAA-owned service account whose id is not known at deploy time; "
            "the queue name prefix airflow-celery- is the scope MWAA documents."
        ),
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter"
        f"{props.ssm_prefix}/*]": (
            "The SSM secrets backend looks up variables and connections by name under this environment's "
            "prefix; an absent name must return ParameterNotFound (a default), not AccessDenied."
        ),
        "AwsSolutions-IAM5[Resource::*]": (
            "s3:GetAccountPublicAccessBlock, logs:DescribeLogGroups and cloudwatch:PutMetricData support no "
            "resource-level permissions; PutMetricData is limited to MWAA's namespaces by condition."
        ),
    }
    for rule_id, reason in findings.items():
        acknowledge(policy, rule_id, reason)
