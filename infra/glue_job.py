"""The Glue 5.1 PySpark job that runs ``glue_scripts/compute_kpis.py``: its code assets, security
configuration (KMS for S3, logs and bookmarks), role and policy, owned log groups, and the job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.config import PipelineConfig, ResourceNames
from infra.log_groups import encrypted_log_group
from infra.nag import acknowledge, objects_of
from infra.packaging import write_library_zip
from infra.pipeline_settings import GLUE_LOG_GROUP_SUFFIXES, glue_default_arguments, glue_log_group_names
from music_contract import layout
from music_contract import names as contract_names


@dataclass(frozen=True)
class GlueJobProps:
    """What the job is, runs on and may touch."""

    # The environment: Glue version, workers, timeout, log retention, database name.
    config: PipelineConfig
    # Resource names: the job, its security configuration and its log-group prefix.
    names: ResourceNames
    # The bucket the job reads raw data from and writes curated data, reports and temp files to.
    data_bucket: s3.IBucket
    # The table the job writes the KPI items to.
    kpi_table: dynamodb.ITable
    # Encrypts the job's S3 output, its CloudWatch logs and its bookmarks.
    key: kms.IKey
    # The job's entry script, deployed as an asset.
    script_path: Path
    # The packages the job imports: all the --extra-py-files zip holds (infra.packaging.GLUE_JOB_PACKAGES).
    library_packages: tuple[Path, ...]


class GlueJob(Construct):
    """Exposes ``job``, ``job_name``, ``job_arn``, ``role``, ``policy``, ``security_configuration``,
    ``log_groups`` and ``script_location`` (the S3 URL of the script asset)."""

    def __init__(self, scope: Construct, construct_id: str, props: GlueJobProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names
        if not props.script_path.is_file():
            raise FileNotFoundError(f"the Glue job's script is missing: {props.script_path}")

        self.security_configuration = self._build_security_configuration(props)

        script = s3_assets.Asset(self, "Script", path=str(props.script_path))
        libraries = s3_assets.Asset(self, "Libraries", path=str(write_library_zip(props.library_packages)))
        self.script_location = script.s3_object_url

        self.role = iam.Role(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description=f"{names.glue_job}: reads/writes the data bucket and the KPI table",
        )
        # A customer-managed policy (not inline): reviewable on its own and reusable (NIST IAMNoInlinePolicy).
        self.policy = iam.ManagedPolicy(
            self, "JobPolicy", statements=self._job_statements(props, script, libraries), roles=[self.role]
        )

        self.job_name = names.glue_job
        self.job = self._build_job(props, script, libraries)
        self.log_groups = self._build_log_groups(props)
        self.job.node.add_dependency(*self.log_groups)
        self.job.node.add_dependency(self.security_configuration)
        self.job.node.add_dependency(self.policy)  # runs only once its permissions exist
        self.job_arn = f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}:job/{self.job_name}"
        self._acknowledge_findings(props)

    def _build_job(
        self, props: GlueJobProps, script: s3_assets.Asset, libraries: s3_assets.Asset
    ) -> glue.CfnJob:
        """The job on its script and library zip, with the environment's workers, timeout and arguments."""
        config, names = props.config, props.names
        return glue.CfnJob(
            self,
            "Job",
            name=self.job_name,
            description="Validates a run's stream batches and computes daily genre KPIs (docs/DESIGN.md).",
            role=self.role.role_arn,
            glue_version=config.glue_version,
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=script.s3_object_url
            ),
            worker_type=config.glue_worker_type,
            number_of_workers=config.glue_number_of_workers,
            timeout=config.glue_timeout_minutes,
            execution_class=config.glue_execution_class,
            max_retries=0,  # Airflow owns retries (docs/DESIGN.md: retries 3, 5-minute delay)
            execution_property=glue.CfnJob.ExecutionPropertyProperty(
                max_concurrent_runs=contract_names.GLUE_MAX_CONCURRENT_RUNS
            ),
            # A second StartJobRun (a run still STOPPING after a kill) waits as WAITING instead of
            # failing with ConcurrentRunsExceededException (music_contract.names).
            job_run_queuing_enabled=contract_names.GLUE_JOB_RUN_QUEUING,
            security_configuration=names.glue_security_configuration,
            default_arguments=glue_default_arguments(
                config,
                names,
                extra_py_files=libraries.s3_object_url,
                temp_dir=f"s3://{props.data_bucket.bucket_name}/{layout.GLUE_TEMP_PREFIX}",
            ),
        )

    def _build_security_configuration(self, props: GlueJobProps) -> glue.CfnSecurityConfiguration:
        """The job's S3 output and CloudWatch logs SSE-KMS, its bookmarks CSE-KMS, with the data key."""
        return glue.CfnSecurityConfiguration(
            self,
            "SecurityConfiguration",
            name=props.names.glue_security_configuration,
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[
                    glue.CfnSecurityConfiguration.S3EncryptionProperty(
                        s3_encryption_mode="SSE-KMS", kms_key_arn=props.key.key_arn
                    )
                ],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=props.key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=props.key.key_arn
                ),
            ),
        )

    def _build_log_groups(self, props: GlueJobProps) -> list[logs.LogGroup]:
        """The job's log groups, owned by the stack (retention, key); Glue would otherwise create
        them without either. Named, so deleted with the stack (a retained one blocks a re-create)."""
        return [
            encrypted_log_group(
                self,
                f"JobLogs{suffix.title()}",
                key=props.key,
                retention_days=props.config.log_retention_days,
                removal_policy=RemovalPolicy.DESTROY,
                log_group_name=name,
            )
            for suffix, name in zip(GLUE_LOG_GROUP_SUFFIXES, glue_log_group_names(props.names), strict=True)
        ]

    def _job_statements(
        self, props: GlueJobProps, script: s3_assets.Asset, libraries: s3_assets.Asset
    ) -> list[iam.PolicyStatement]:
        """Exactly what the job does: its code, S3 data, the KPI table, logs and metrics. No catalog
        access: the job reads and writes the curated tables' files by path (glue_scripts/music_kpis)."""
        bucket = props.data_bucket
        region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
        return [
            iam.PolicyStatement(
                sid="ReadJobCode",
                actions=["s3:GetObject"],
                resources=[
                    f"arn:{Aws.PARTITION}:s3:::{asset.s3_bucket_name}/{asset.s3_object_key}"
                    for asset in (script, libraries)
                ],
            ),
            iam.PolicyStatement(
                sid="ListDataBucket",
                actions=["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                resources=[bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ReadWriteDataObjects",
                # Spark writes Parquet in multipart uploads and aborts them when a task fails.
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                sid="UseDataKey",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[props.key.key_arn],
            ),
            iam.PolicyStatement(
                sid="WriteKpiItems",
                actions=[
                    "dynamodb:BatchWriteItem",
                    "dynamodb:PutItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:GetItem",
                    "dynamodb:DescribeTable",
                ],
                resources=[props.kpi_table.table_arn],
            ),
            # The job's log groups are the stack's (`_build_log_groups`, named as AWS documents); the
            # grant covers Glue's prefix so that a run still logs if Glue picks another name there
            # (docs/deploy.md: confirm the names after the first run).
            iam.PolicyStatement(
                sid="WriteJobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:AssociateKmsKey",
                ],
                resources=[f"arn:{Aws.PARTITION}:logs:{region_account}:log-group:/aws-glue/*"],
            ),
            iam.PolicyStatement(
                sid="PublishJobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource type; the condition scopes it
                conditions={"StringEquals": {"cloudwatch:namespace": "Glue"}},
            ),
        ]

    def _acknowledge_findings(self, props: GlueJobProps) -> None:
        """The policy's wildcards cdk-nag reports, each with why it stays (see `_job_statements`)."""
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[{objects_of(props.data_bucket)}]",
            "The job reads and writes objects under every prefix of the data bucket (reference, raw, "
            "manifests, curated, quarantine, reports, temp), with explicit object actions only.",
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws-glue/*]",
            "Glue writes one log stream per run and executor into its log groups; the stack owns the two "
            "documented <prefix>/output|error groups, and the grant stays on Glue's /aws-glue/ prefix so a "
            "group Glue names otherwise (encrypted-log forms differ between Glue's docs) still receives logs.",
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudwatch:PutMetricData has no resource type; the statement is limited to the Glue namespace "
            "by the cloudwatch:namespace condition.",
        )
