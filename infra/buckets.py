"""S3 buckets as every part of the stack wants them: private, TLS only, versioned, encrypted, their
object events on EventBridge, and always a lifecycle rule that expires old versions and stale
multipart uploads (versioning without it keeps every overwritten object forever)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge

# Multipart uploads left unfinished (a killed Spark task, an interrupted copy) are removed after this.
ABORT_INCOMPLETE_UPLOADS_DAYS = 7


@dataclass(frozen=True)
class EncryptedBucketProps:
    """One bucket's name, encryption, logging, lifecycle and fate."""

    # Physical name (`ResourceNames`); None: CloudFormation generates one (a bucket kept after the
    # stack is gone must not hold a name the stack's next create needs).
    bucket_name: str | None
    # SSE-KMS with this key; None only where S3 cannot use KMS (the access-log target bucket: S3
    # log delivery writes only to SSE-S3 buckets), which then gets SSE-S3.
    key: kms.IKey | None
    # Server access logs go to this bucket under ``access_logs_prefix``; None for the log bucket itself.
    access_logs_bucket: s3.IBucket | None
    access_logs_prefix: str | None
    # What ``cdk destroy`` does to the bucket (the environment's data removal policy).
    removal_policy: RemovalPolicy
    # Empty the bucket before a delete (a custom resource); only when the data is not retained.
    auto_delete_objects: bool
    # Days an overwritten or deleted object version is kept (``noncurrent_version_expiration_days``).
    noncurrent_version_expiration_days: int
    # Why Object Lock (WORM) does not fit this bucket (cfn-guard asks for it on every bucket).
    no_object_lock_because: str
    # The always-present rule's id; with ``expiration_days`` it also expires current objects.
    versions_rule_id: str = "expire-old-versions"
    expiration_days: int | None = None
    # Further rules (transitions, expiries by prefix), before the always-present one.
    lifecycle_rules: tuple[s3.LifecycleRule, ...] = ()


def encrypted_bucket(scope: Construct, construct_id: str, props: EncryptedBucketProps) -> s3.Bucket:
    """A bucket with the secure defaults above, and the findings those defaults leave acknowledged."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        bucket_name=props.bucket_name,
        **bucket_encryption(props.key),
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        versioned=True,
        **access_logging(props.access_logs_bucket, props.access_logs_prefix),
        removal_policy=props.removal_policy,
        auto_delete_objects=props.auto_delete_objects,
        lifecycle_rules=[*props.lifecycle_rules, versions_rule(props)],
    )
    publish_events_to_eventbridge(bucket)
    _acknowledge_findings(bucket, props.no_object_lock_because)
    return bucket


def bucket_encryption(key: kms.IKey | None) -> dict[str, Any]:
    """SSE-KMS with `key` and an S3 Bucket Key; SSE-S3 without one."""
    if key is None:
        return {"encryption": s3.BucketEncryption.S3_MANAGED}
    return {
        "encryption": s3.BucketEncryption.KMS,
        "encryption_key": key,
        "bucket_key_enabled": True,  # one KMS call per bucket key, not per object
    }


def access_logging(logs_bucket: s3.IBucket | None, prefix: str | None) -> dict[str, Any]:
    """Server access logs to `logs_bucket` under `prefix`; none without a bucket (the log bucket itself)."""
    if logs_bucket is None:
        return {}
    return {"server_access_logs_bucket": logs_bucket, "server_access_logs_prefix": prefix}


def versions_rule(props: EncryptedBucketProps) -> s3.LifecycleRule:
    """The always-present rule: old versions and stale multipart uploads expire (and, with
    ``expiration_days``, current objects too), and so do delete markers left with no version.

    A delete (the archive's move out of ``raw_data/``, a cleared partition) leaves a delete marker
    that outlives the versions it hid; S3 removes such a marker only with ``ExpiredObjectDeleteMarker``
    or, when current objects expire after some days, by itself (the two cannot share a rule: S3 API
    reference, LifecycleExpiration). Left alone they pile up under the prefixes the DAG lists.
    """
    return s3.LifecycleRule(
        id=props.versions_rule_id,
        expiration=Duration.days(props.expiration_days) if props.expiration_days else None,
        expired_object_delete_marker=None if props.expiration_days else True,
        noncurrent_version_expiration=Duration.days(props.noncurrent_version_expiration_days),
        abort_incomplete_multipart_upload_after=Duration.days(ABORT_INCOMPLETE_UPLOADS_DAYS),
    )


def _acknowledge_findings(bucket: s3.Bucket, no_object_lock_because: str) -> None:
    """Replication and Object Lock, each with why this bucket goes without."""
    acknowledge(
        bucket,
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "Single-region pipeline: versioning, retained buckets in prod and re-runnable raw data cover "
        "recovery; cross-region replication needs a second region this stack does not deploy to.",
    )
    acknowledge(
        bucket,
        "s3_bucket_object_lock_enabled_check",
        f"Object Lock (WORM) does not fit this bucket: {no_object_lock_because}.",
    )


def publish_events_to_eventbridge(bucket: s3.Bucket) -> None:
    """S3 event notifications to EventBridge (Control Tower CT.S3.PR.4), set on
    the L1: the L2's ``event_bridge_enabled`` adds a custom-resource Lambda for the same setting."""
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
        event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
    )
