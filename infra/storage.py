"""Storage: the customer-managed KMS key, the data bucket, the MWAA source bucket, the access-log bucket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.buckets import EncryptedBucketProps, encrypted_bucket
from infra.config import PipelineConfig, ResourceNames
from infra.keys import restrict_grants_to_aws_services
from infra.nag import acknowledge
from music_contract import layout

# The access-log bucket is kept, never emptied by the stack: S3 delivers server access logs "on a
# best-effort basis", most "within a few hours" of the request, some later
# (docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html, "Best-effort server log delivery"),
# and a logging change takes time to take effect too. Emptying it (CDK's auto-delete, the failed-create
# cleanup) and then deleting it races those late logs: BucketNotEmpty, a stack stuck in DELETE_FAILED
# or ROLLBACK_FAILED (aws/aws-cdk issue "autoDeleteObjects ... server access logs"). Neither stopping
# the logging first nor a retry within a Lambda's 15 minutes outlasts hours of delivery. So it has no
# fixed name (a kept bucket never blocks the next create), and its lifecycle rule expires the logs
# after log_retention_days: left alone it empties itself and costs nothing (docs/deploy.md).
ACCESS_LOGS_REMOVAL_POLICY = RemovalPolicy.RETAIN


def retains_data(config: PipelineConfig) -> bool:
    """Whether the environment keeps its data on delete: ``retain_data``, always in prod."""
    return config.retain_data or config.is_prod


def data_removal_policy(retain_data: bool) -> RemovalPolicy:
    """What happens to data resources (buckets, table, key, log groups) on delete.

    Retained data (`retains_data`): ``DeletionPolicy: RetainExceptOnCreate`` and
    ``UpdateReplacePolicy: Retain``: an update or ``cdk destroy`` never deletes them, a failed first
    create does (infra/failed_create_cleanup.py empties them first), so a retry finds the names free.
    Otherwise: deleted with the stack.
    """
    return RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if retain_data else RemovalPolicy.DESTROY


@dataclass(frozen=True)
class StorageProps:
    """The environment's names and how long what it stores is kept."""

    # Resource names: the key alias and the two named buckets.
    names: ResourceNames
    # Keep the buckets and the key on delete (`retains_data`), never emptied by the stack.
    retain_data: bool
    # Days before archived raw files and quarantined rows cool down (``archive_transition_days``).
    archive_transition_days: int
    # Days an overwritten or deleted object version is kept (``noncurrent_version_expiration_days``).
    noncurrent_version_expiration_days: int
    # Days the access logs are kept (``log_retention_days``).
    log_retention_days: int


class Storage(Construct):
    """One KMS key for the environment's data at rest, and the three buckets.

    - ``data_bucket``: the pipeline's data (docs/DESIGN.md layout), SSE-KMS with ``key``.
    - ``mwaa_source_bucket``: DAGs and requirements.txt for MWAA; versioned (MWAA requires it, and
      the environment pins requirements.txt by object version), SSE-KMS with ``key``.
    - ``access_logs_bucket``: server access logs of the other two. S3 log delivery cannot write
      to SSE-KMS buckets, so this one alone uses S3-managed encryption (SSE-S3). Kept when the stack
      is deleted or its first create rolls back (`ACCESS_LOGS_REMOVAL_POLICY`).
    """

    def __init__(self, scope: Construct, construct_id: str, props: StorageProps) -> None:
        super().__init__(scope, construct_id)
        self.retain_data = props.retain_data
        self.removal_policy = data_removal_policy(props.retain_data)
        self.key = self._build_key(props.names)
        self.access_logs_bucket = encrypted_bucket(self, "AccessLogsBucket", access_logs_bucket_props(props))
        self.data_bucket = encrypted_bucket(self, "DataBucket", self._data_bucket_props(props))
        self.mwaa_source_bucket = encrypted_bucket(
            self, "MwaaSourceBucket", self._mwaa_source_bucket_props(props)
        )
        self._acknowledge_findings()

    def _retention(self, props: StorageProps) -> dict[str, Any]:
        """The data and source buckets' fate: the data removal policy, emptied on delete unless kept."""
        return {
            "removal_policy": self.removal_policy,
            # Without retained data, a delete (or a failed create's rollback) empties the bucket first.
            "auto_delete_objects": not self.retain_data,
            "noncurrent_version_expiration_days": props.noncurrent_version_expiration_days,
        }

    def _data_bucket_props(self, props: StorageProps) -> EncryptedBucketProps:
        return EncryptedBucketProps(
            bucket_name=props.names.data_bucket,
            key=self.key,
            access_logs_bucket=self.access_logs_bucket,
            access_logs_prefix="data/",
            lifecycle_rules=data_lifecycle_rules(props.archive_transition_days),
            no_object_lock_because="the DAG moves processed raw files to archived_data/ (a delete) and "
            "Glue overwrites a run's curated partitions; versioning plus lifecycle already keeps old "
            "versions",
            **self._retention(props),
        )

    def _mwaa_source_bucket_props(self, props: StorageProps) -> EncryptedBucketProps:
        return EncryptedBucketProps(
            bucket_name=props.names.mwaa_source_bucket,
            key=self.key,
            access_logs_bucket=self.access_logs_bucket,
            access_logs_prefix="airflow/",
            no_object_lock_because="each deploy prunes removed DAG files and MWAA must see the current "
            "set; versioning keeps earlier objects for rollback",
            **self._retention(props),
        )

    def _build_key(self, names: ResourceNames) -> kms.Key:
        """The environment's data key: rotating, grants only for AWS services, usable by CloudWatch
        Logs for this account's log groups."""
        key = kms.Key(
            self,
            "DataKey",
            alias=f"alias/{names.prefix}",
            description=f"{names.prefix}: data, logs, queue and topic encryption",
            enable_key_rotation=True,
            removal_policy=self.removal_policy,
        )
        restrict_grants_to_aws_services(key)
        # CloudWatch Logs encrypts this account's log groups (MWAA, Glue, flow logs) with the key;
        # the encryption context condition keeps the grant to log groups of this account and region.
        key.add_to_resource_policy(
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
        return key

    def _acknowledge_findings(self) -> None:
        """The access-log bucket cannot be SSE-KMS nor log to itself."""
        acknowledge(
            self.access_logs_bucket,
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "S3 server access log delivery only writes to SSE-S3 buckets (SSE-KMS is not supported for "
            "the target bucket), so this bucket alone is S3-managed encrypted.",
        )
        acknowledge(
            self.access_logs_bucket,
            "s3_bucket_default_encryption_kms_check",
            "S3 server access log delivery only writes to SSE-S3 buckets, so this bucket alone is S3-managed "
            "encrypted (the same finding as NIST S3DefaultEncryptionKMS).",
        )
        acknowledge(
            self.access_logs_bucket,
            "s3_bucket_logging_enabled_check",
            "This is the access-log bucket: logging its own requests into itself would log every delivery, "
            "and a second log bucket would need the same exception.",
        )

    @property
    def buckets(self) -> tuple[s3.Bucket, ...]:
        """The three buckets (each publishes its object events to EventBridge)."""
        return (self.data_bucket, self.mwaa_source_bucket, self.access_logs_bucket)

    @property
    def deleted_buckets(self) -> tuple[s3.Bucket, ...]:
        """The buckets a failed create (and, without retained data, a delete) empties and deletes:
        all but the access-log bucket, which is kept."""
        return (self.data_bucket, self.mwaa_source_bucket)


def access_logs_bucket_props(props: StorageProps) -> EncryptedBucketProps:
    """The access-log bucket: SSE-S3, no name, kept (`ACCESS_LOGS_REMOVAL_POLICY`), logs expiring."""
    return EncryptedBucketProps(
        bucket_name=None,  # kept after the stack: no name a re-create needs
        key=None,  # S3 log delivery writes only to SSE-S3 buckets
        access_logs_bucket=None,
        access_logs_prefix=None,
        versions_rule_id="expire-access-logs",
        expiration_days=props.log_retention_days,
        no_object_lock_because="logs expire by lifecycle after log_retention_days; object lock "
        "would stop that expiry and is fixed at bucket creation",
        removal_policy=ACCESS_LOGS_REMOVAL_POLICY,
        auto_delete_objects=False,  # late log deliveries would refill it (ACCESS_LOGS_REMOVAL_POLICY)
        noncurrent_version_expiration_days=props.noncurrent_version_expiration_days,
    )


def data_lifecycle_rules(archive_transition_days: int) -> tuple[s3.LifecycleRule, ...]:
    """The data bucket's rules by prefix: archives and quarantine cool down, the rest expires."""
    return (
        # Archived raw files and quarantined rows are kept for audits, rarely read.
        *(
            cool_down(prefix, archive_transition_days)
            for prefix in (layout.ARCHIVE_PREFIX, layout.QUARANTINE_PREFIX)
        ),
        s3.LifecycleRule(
            id="expire-glue-temp",
            prefix=layout.GLUE_TEMP_PREFIX,
            expiration=Duration.days(layout.GLUE_TEMP_EXPIRATION_DAYS),
        ),
        # Query results can be re-run; the workgroup writes them here (infra/analytics.py).
        s3.LifecycleRule(
            id="expire-athena-results",
            prefix=layout.ATHENA_RESULTS_PREFIX,
            expiration=Duration.days(layout.ATHENA_RESULTS_EXPIRATION_DAYS),
        ),
        # The job removes its staging itself; this catches a run killed before it could.
        # Longer than glue-temp: a sealed staged copy is what the next run publishes from.
        s3.LifecycleRule(
            id="expire-job-staging",
            prefix=layout.STAGING_PREFIX,
            expiration=Duration.days(layout.STAGING_EXPIRATION_DAYS),
        ),
    )


def cool_down(prefix: str, transition_days: int) -> s3.LifecycleRule:
    """Objects under ``prefix`` move to Standard-IA after ``transition_days``, to Glacier Instant
    Retrieval after three times that."""
    return s3.LifecycleRule(
        id=f"cool-{prefix.strip('/')}",
        prefix=prefix,
        transitions=[
            s3.Transition(
                storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                transition_after=Duration.days(transition_days),
            ),
            s3.Transition(
                storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                transition_after=Duration.days(transition_days * 3),
            ),
        ],
    )
