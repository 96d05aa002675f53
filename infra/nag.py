"""Policy checks on every synth (CDK's Validations API): cdk-nag 3's AwsSolutions and NIST 800-53 R5
packs and AWS Control Tower's proactive controls (cfn-guard rules, cdklabs.cdk-validator-cfnguard).
The findings that cannot be fixed are acknowledged here, one finding at a time, with a reason.

Fixed rather than acknowledged: KMS everywhere it is accepted, TLS-only buckets and topic, access
logs, versioning, PITR, flow logs, customer-managed (not inline) policies with explicit actions,
MWAA ports limited to 443/5432, no public IPs on launch, alarm actions, log retention.
"""

from __future__ import annotations

import re

from aws_cdk import Acknowledgment, App, Stack, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from constructs import IConstruct

# The CDK bootstrap's asset bucket (default synthesizer), as cdk-nag renders it in finding ids.
CDK_ASSETS_OBJECTS = "arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*"
BUCKET_DEPLOYMENT_PREFIX = "Custom::CDKBucketDeployment"
# The packs' names, as they prefix rule ids and acknowledgements.
NAG_PACKS = ("AwsSolutions", "NIST.800.53.R5")
# The cfn-guard plugin's name; its rule ids are the guard rules' names (snake_case, ending in _check).
GUARD_PACK = "cdk-validator-cfnguard"
POLICY_PACKS = (*NAG_PACKS, GUARD_PACK)
_GUARD_RULE_ID = re.compile(r"[a-z0-9_]+_check")


def add_nag_checks(app: App) -> None:
    """Register both packs on the app: synth fails on any finding not acknowledged here."""
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app),
        NIST80053R5Checks(app),
        # AWS Control Tower's proactive controls (CloudFormation Guard rules) on the same synth.
        CfnGuardValidator(control_tower_rules_enabled=True),
    )


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding (``Rule`` or ``Rule[FindingId]``, or a cfn-guard rule name) on one
    construct and its children.

    The id is recorded as ``<pack>::<rule>``, the form the validation report asks for.
    """
    pack = next((p for p in NAG_PACKS if rule_id.startswith(f"{p}-")), None)
    if pack is None and _GUARD_RULE_ID.fullmatch(rule_id):
        pack = GUARD_PACK
    if pack is None:
        raise ValueError(f"{rule_id!r} is not a rule of the packs {POLICY_PACKS}")
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{pack}::{rule_id}", reason=reason))


def _logical_id_ref(construct: IConstruct) -> str:
    """How cdk-nag writes a ``Fn::GetAtt <resource>.Arn`` in a finding id."""
    return f"<{Stack.of(construct).get_logical_id(construct.node.default_child)}.Arn>"


def acknowledge_findings(stack) -> None:
    """The acknowledgements of ``MusicStreamsStack`` (see the module docstring for what was fixed)."""
    storage, catalog, orchestration = stack.storage, stack.catalog, stack.orchestration
    names = stack.names
    data_objects = f"Resource::{_logical_id_ref(storage.data_bucket)}/*"
    source_objects = f"Resource::{_logical_id_ref(storage.mwaa_source_bucket)}/*"

    # --- Storage ---------------------------------------------------------------------------
    for bucket in (storage.data_bucket, storage.mwaa_source_bucket, storage.access_logs_bucket):
        acknowledge(
            bucket,
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "Single-region pipeline: versioning, retained buckets in prod and re-runnable raw data cover "
            "recovery; cross-region replication needs a second region this stack does not deploy to.",
        )
    acknowledge(
        storage.access_logs_bucket,
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "S3 server access log delivery only writes to SSE-S3 buckets (SSE-KMS is not supported for "
        "the target bucket), so this bucket alone is S3-managed encrypted.",
    )
    acknowledge(
        storage.access_logs_bucket,
        "s3_bucket_default_encryption_kms_check",
        "S3 server access log delivery only writes to SSE-S3 buckets, so this bucket alone is S3-managed "
        "encrypted (the same finding as NIST S3DefaultEncryptionKMS).",
    )
    acknowledge(
        storage.access_logs_bucket,
        "s3_bucket_logging_enabled_check",
        "This is the access-log bucket: logging its own requests into itself would log every delivery, "
        "and a second log bucket would need the same exception.",
    )
    object_lock_reasons = {
        storage.data_bucket: "the DAG moves processed raw files to archived_data/ (a delete) and Glue "
        "overwrites a run's curated partitions; versioning plus lifecycle already keeps old versions",
        storage.mwaa_source_bucket: "each deploy prunes removed DAG files and MWAA must see the current "
        "set; versioning keeps earlier objects for rollback",
        storage.access_logs_bucket: "logs expire by lifecycle after log_retention_days; object lock would "
        "stop that expiry and is fixed at bucket creation",
    }
    for bucket, why in object_lock_reasons.items():
        acknowledge(
            bucket,
            "s3_bucket_object_lock_enabled_check",
            f"Object Lock (WORM) does not fit this bucket: {why}.",
        )
    acknowledge(
        stack.kpi_store.table,
        "NIST.800.53.R5-DynamoDBInBackupPlan",
        "Point-in-time recovery (35 days of continuous backups) is on, and the KPIs can be recomputed "
        "from the archived raw data; an AWS Backup plan would duplicate PITR.",
    )

    # --- Glue job role ------------------------------------------------------------------------
    acknowledge(
        catalog.policy,
        f"AwsSolutions-IAM5[{data_objects}]",
        "The job reads and writes objects under every prefix of the data bucket (reference, raw, "
        "manifests, curated, quarantine, reports, temp), with explicit object actions only.",
    )
    acknowledge(
        catalog.policy,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws-glue/*]",
        "Glue creates its log groups (/aws-glue/jobs/<security-configuration>-role/...) and streams per "
        "run; the names are chosen by Glue, so the grant is scoped to Glue's log-group prefix.",
    )
    acknowledge(
        catalog.policy,
        "AwsSolutions-IAM5[Resource::*]",
        "cloudwatch:PutMetricData has no resource type; the statement is limited to the Glue namespace "
        "by the cloudwatch:namespace condition.",
    )

    # --- MWAA execution role --------------------------------------------------------------------
    policy = orchestration.execution_policy
    acknowledge(
        policy,
        f"AwsSolutions-IAM5[{data_objects}]",
        "The DAG lists reference and raw files, writes manifests and moves raw files to archived_data/; "
        "the keys are data-driven, so the grant covers the bucket's objects with explicit actions only.",
    )
    acknowledge(
        policy,
        f"AwsSolutions-IAM5[{source_objects}]",
        "MWAA reads the DAG folder and requirements.txt from its source bucket (read-only actions).",
    )
    for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*"):
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Action::{action}]",
            "AWS's documented MWAA execution-role policy grants s3:GetObject*, s3:GetBucket* and s3:List* "
            "on the source bucket; scoped to that one bucket and its objects.",
        )
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
        f"airflow-{names.mwaa_environment}-*]",
        "MWAA writes its five log types to log groups it names airflow-<environment>-<LogType>; scoped "
        "to this environment's prefix as the MWAA execution-role documentation prescribes.",
    )
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:*:airflow-celery-*]",
        "The Celery queue lives in an MWAA-owned service account whose id is not known at deploy time; "
        "the queue name prefix airflow-celery- is the scope MWAA documents.",
    )
    acknowledge(
        policy,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter"
        f"{names.ssm_prefix}/*]",
        "The SSM secrets backend looks up variables and connections by name under this environment's "
        "prefix; an absent name must return ParameterNotFound (a default), not AccessDenied.",
    )
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "s3:GetAccountPublicAccessBlock, logs:DescribeLogGroups and cloudwatch:PutMetricData support no "
        "resource-level permissions; PutMetricData is limited to MWAA's namespaces by condition.",
    )

    # --- Public subnets: they hold only the NAT gateways -----------------------------------------
    for subnet in orchestration.vpc.public_subnets:
        acknowledge(
            subnet,
            "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
            "Public subnets hold only the NAT gateways that give the private MWAA subnets egress; nothing "
            "else runs there and instances get no public IP on launch.",
        )

    # --- CDK's BucketDeployment handler (uploads the DAGs and requirements.txt) -------------------
    for handler in _bucket_deployment_handlers(stack):
        _acknowledge_bucket_deployment_handler(handler, source_objects)

    # --- CDK's own custom-resource providers (no VPC option in aws-cdk-lib) ----------------------
    for provider in _cdk_providers(stack):
        acknowledge(
            provider,
            "lambda_inside_vpc_check",
            "CDK-provided custom-resource provider (aws-cdk-lib offers no VPC setting); it runs only "
            "during deploys and calls S3/EC2 control-plane APIs of this stack's own resources.",
        )

    # --- The failed-create cleanup (prod only) -----------------------------------------------------
    cleanup = stack.failed_create_cleanup
    if cleanup is not None:
        for bucket in storage.buckets:
            acknowledge(
                cleanup.policy,
                f"AwsSolutions-IAM5[Resource::{_logical_id_ref(bucket)}/*]",
                "Emptying a bucket deletes every object version in it; used only while the stack's first "
                "create rolls back (ROLLBACK_IN_PROGRESS), when no data exists yet.",
            )
        outside_vpc = (
            "It must exist before the VPC's resources are created and outlive them on rollback "
            "(they depend on it), so it cannot run inside that VPC; it calls only AWS APIs."
        )
        acknowledge(cleanup.function, "NIST.800.53.R5-LambdaInsideVPC", outside_vpc)
        acknowledge(cleanup.function, "lambda_inside_vpc_check", outside_vpc)
        acknowledge(
            cleanup.function,
            "NIST.800.53.R5-LambdaConcurrency",
            "Invoked by CloudFormation at most once per stack operation; a reserved concurrency would "
            "fail the first deploy in accounts whose concurrency limit is still 10 (new accounts).",
        )
        acknowledge(
            cleanup.function,
            "NIST.800.53.R5-LambdaDLQ",
            "Invoked by CloudFormation as a custom resource; CloudFormation records a failed answer and "
            "stops the rollback, so a dead-letter queue would receive nothing.",
        )


def _cdk_providers(stack: Stack) -> list[IConstruct]:
    """aws-cdk-lib's singleton custom-resource providers (auto-delete objects, default SG rules)."""
    return [
        child
        for child in stack.node.children
        if child.node.id.startswith("Custom::") and child.node.id.endswith("CustomResourceProvider")
    ]


def _bucket_deployment_handlers(stack: Stack) -> list[IConstruct]:
    """The singleton Lambda function(s) CDK adds for BucketDeployment (one per distinct config)."""
    return [child for child in stack.node.children if child.node.id.startswith(BUCKET_DEPLOYMENT_PREFIX)]


def _acknowledge_bucket_deployment_handler(handler: IConstruct, source_objects: str) -> None:
    """Its role, policy and runtime belong to aws-cdk-lib; this stack cannot change them."""
    provided = "CDK-provided BucketDeployment handler (aws-cdk-lib), runs only during deploys: "
    findings = {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
            "the handler's role is created by aws-cdk-lib with this managed policy to write its own logs."
        ),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]": (
            "it runs in the private subnets, and aws-cdk-lib attaches this managed policy for its ENIs."
        ),
        "AwsSolutions-IAM5[Action::s3:GetBucket*]": "aws-cdk-lib's grantRead on the CDK asset bucket.",
        "AwsSolutions-IAM5[Action::s3:GetObject*]": "aws-cdk-lib's grantRead on the CDK asset bucket.",
        "AwsSolutions-IAM5[Action::s3:List*]": "aws-cdk-lib's grantRead/grantReadWrite for `aws s3 sync`.",
        "AwsSolutions-IAM5[Action::s3:Abort*]": "aws-cdk-lib's grantReadWrite on the MWAA source bucket.",
        "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "prune deletes DAG files removed from dags/.",
        "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "writes SSE-KMS objects to the source bucket.",
        "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": "aws-cdk-lib's key grant for the source bucket.",
        f"AwsSolutions-IAM5[Resource::{CDK_ASSETS_OBJECTS}]": "reads the uploaded asset zips.",
        f"AwsSolutions-IAM5[{source_objects}]": "writes the DAGs and requirements.txt under their prefixes.",
        "AwsSolutions-L1": "aws-cdk-lib pins the handler's Python runtime; upgrading aws-cdk-lib updates it.",
        "NIST.800.53.R5-IAMNoInlinePolicy": "aws-cdk-lib attaches its grants as the role's inline policy.",
        "NIST.800.53.R5-LambdaConcurrency": (
            "invoked only by CloudFormation, once per deployment; a reserved concurrency adds nothing."
        ),
        "NIST.800.53.R5-LambdaDLQ": (
            "invoked synchronously by CloudFormation, which records failures and rolls back; a DLQ "
            "would receive nothing."
        ),
    }
    for rule_id, reason in findings.items():
        acknowledge(handler, rule_id, provided + reason)
