"""Storage: the customer-managed KMS key, the data bucket, the MWAA source bucket, the access-log bucket."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import PipelineConfig, ResourceNames
from music_pipeline import contract

# Glue's --TempDir inside the data bucket (expired after a week by a lifecycle rule).
GLUE_TEMP_PREFIX = "glue-temp/"


@dataclass(frozen=True)
class StorageProps:
    """``config``/``names``: the environment's configuration and resource names."""

    config: PipelineConfig
    names: ResourceNames


class Storage(Construct):
    """One KMS key for the environment's data at rest, and the three buckets.

    - ``data_bucket``: the pipeline's data (docs/DESIGN.md layout), SSE-KMS with ``key``.
    - ``mwaa_source_bucket``: DAGs and requirements.txt for MWAA; versioned (MWAA requires it, and
      the environment pins requirements.txt by object version), SSE-KMS with ``key``.
    - ``access_logs_bucket``: server access logs of the other two. S3 log delivery cannot write
      to SSE-KMS buckets, so this one alone uses S3-managed encryption (SSE-S3).
    """

    def __init__(self, scope: Construct, construct_id: str, props: StorageProps) -> None:
        super().__init__(scope, construct_id)
        config, names = props.config, props.names
        self.removal_policy = (
            RemovalPolicy.RETAIN if config.retain_data or config.is_prod else RemovalPolicy.DESTROY
        )

        self.key = kms.Key(
            self,
            "DataKey",
            alias=f"alias/{names.prefix}",
            description=f"{names.prefix}: data, logs, queue and topic encryption",
            enable_key_rotation=True,
            removal_policy=self.removal_policy,
        )
        # CloudWatch Logs encrypts this account's log groups (MWAA, Glue, flow logs) with the key;
        # the encryption context condition keeps the grant to log groups of this account and region.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsInThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )

        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            bucket_name=names.access_logs_bucket,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            removal_policy=self.removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(config.log_retention_days),
                    noncurrent_version_expiration=Duration.days(config.noncurrent_version_expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )

        self.data_bucket = s3.Bucket(
            self,
            "DataBucket",
            bucket_name=names.data_bucket,
            **self._private_kms_bucket_options(config, "data/"),
            lifecycle_rules=[
                # Archived raw files and quarantined rows are kept for audits, rarely read.
                *(
                    s3.LifecycleRule(
                        id=f"cool-{prefix.strip('/')}",
                        prefix=prefix,
                        transitions=[
                            s3.Transition(
                                storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                                transition_after=Duration.days(config.archive_transition_days),
                            ),
                            s3.Transition(
                                storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                                transition_after=Duration.days(config.archive_transition_days * 3),
                            ),
                        ],
                    )
                    for prefix in (contract.ARCHIVE_PREFIX, contract.QUARANTINE_PREFIX)
                ),
                s3.LifecycleRule(
                    id="expire-old-versions",
                    noncurrent_version_expiration=Duration.days(config.noncurrent_version_expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
                s3.LifecycleRule(
                    id="expire-glue-temp",
                    prefix=GLUE_TEMP_PREFIX,
                    expiration=Duration.days(7),
                ),
                # The job removes its staging itself; this catches a run killed before it could.
                # Longer than glue-temp: a sealed staged copy is what the next run publishes from.
                s3.LifecycleRule(
                    id="expire-job-staging",
                    prefix=contract.STAGING_PREFIX,
                    expiration=Duration.days(contract.STAGING_EXPIRATION_DAYS),
                ),
            ],
        )

        self.mwaa_source_bucket = s3.Bucket(
            self,
            "MwaaSourceBucket",
            bucket_name=names.mwaa_source_bucket,
            **self._private_kms_bucket_options(config, "airflow/"),
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-versions",
                    noncurrent_version_expiration=Duration.days(config.noncurrent_version_expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )

    def _private_kms_bucket_options(self, config: PipelineConfig, log_prefix: str) -> dict:
        """Options every SSE-KMS bucket shares: private, TLS only, versioned, access-logged."""
        return {
            "encryption": s3.BucketEncryption.KMS,
            "encryption_key": self.key,
            "bucket_key_enabled": True,  # one KMS call per bucket key, not per object
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "enforce_ssl": True,
            "versioned": True,
            "server_access_logs_bucket": self.access_logs_bucket,
            "server_access_logs_prefix": log_prefix,
            "removal_policy": self.removal_policy,
        }
