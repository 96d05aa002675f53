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


def data_removal_policy(config: PipelineConfig) -> RemovalPolicy:
    """What happens to data resources (buckets, table, key, log groups) on delete.

    Retained data (``retain_data``, always in prod): ``DeletionPolicy: RetainExceptOnCreate`` and
    ``UpdateReplacePolicy: Retain``: an update or ``cdk destroy`` never deletes them, a failed first
    create does (infra/failed_create_cleanup.py empties them first), so a retry finds the names free.
    Otherwise: deleted with the stack.
    """
    if config.retain_data or config.is_prod:
        return RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
    return RemovalPolicy.DESTROY


def restrict_grants_to_aws_services(key: kms.Key) -> None:
    """Control Tower's CT.KMS.PR.3: only AWS services (DynamoDB, MWAA, ... acting for this
    account's resources) may create grants on the key, never a principal directly."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsNotForAwsResources",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={
                "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
            },
        )
    )


def publish_events_to_eventbridge(bucket: s3.Bucket) -> None:
    """S3 event notifications to EventBridge (Control Tower CT.S3.PR.4), set on
    the L1: the L2's ``event_bridge_enabled`` adds a custom-resource Lambda for the same setting."""
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
    )


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
        self.retain_data = config.retain_data or config.is_prod
        self.removal_policy = data_removal_policy(config)

        self.key = kms.Key(
            self,
            "DataKey",
            alias=f"alias/{names.prefix}",
            description=f"{names.prefix}: data, logs, queue and topic encryption",
            enable_key_rotation=True,
            removal_policy=self.removal_policy,
        )
        restrict_grants_to_aws_services(self.key)
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
            auto_delete_objects=not self.retain_data,
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

        for bucket in self.buckets:
            publish_events_to_eventbridge(bucket)

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
            # Without retained data, a delete (or a failed create's rollback) empties the bucket first.
            "auto_delete_objects": not self.retain_data,
        }

    @property
    def buckets(self) -> tuple[s3.Bucket, ...]:
        """The three buckets (each publishes its object events to EventBridge)."""
        return (self.data_bucket, self.mwaa_source_bucket, self.access_logs_bucket)
