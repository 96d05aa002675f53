"""infra/storage.py (and infra/buckets.py): the data key and the three buckets.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

from infra.buckets import ABORT_INCOMPLETE_UPLOADS_DAYS
from music_contract import layout
from tests.infra.policy_documents import statements


def test_keys_rotate(each_env):
    for key in each_env.resources("AWS::KMS::Key").values():
        assert key["Properties"]["EnableKeyRotation"] is True


def test_buckets_are_private_versioned_and_encrypted(each_env):
    storage = each_env.stack.storage
    key_id = each_env.logical_id(storage.key)
    logs_bucket = each_env.logical_id(storage.access_logs_bucket)
    buckets = each_env.resources("AWS::S3::Bucket")
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        default = encryption["ServerSideEncryptionByDefault"]
        if logical_id == logs_bucket:
            assert default == {"SSEAlgorithm": "AES256"}  # log delivery cannot write SSE-KMS
        else:
            assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]}}
            assert encryption["BucketKeyEnabled"] is True
            assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_bucket}


def test_every_bucket_denies_plain_http(each_env):
    policies = each_env.resources("AWS::S3::BucketPolicy")
    denied_buckets = set()
    for policy in policies.values():
        for statement in statements(policy["Properties"]):
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                denied_buckets.add(policy["Properties"]["Bucket"]["Ref"])
    assert denied_buckets == set(each_env.resources("AWS::S3::Bucket"))


def test_archive_and_quarantine_move_to_cheaper_storage_and_old_versions_expire(each_env):
    data_bucket = each_env.template["Resources"][each_env.logical_id(each_env.stack.storage.data_bucket)]
    rules = {r["Id"]: r for r in data_bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    days = each_env.config.archive_transition_days
    for prefix in (layout.ARCHIVE_PREFIX, layout.QUARANTINE_PREFIX):
        rule = next(r for r in rules.values() if r.get("Prefix") == prefix)
        assert [(t["StorageClass"], t["TransitionInDays"]) for t in rule["Transitions"]] == [
            ("STANDARD_IA", days),
            ("GLACIER_IR", days * 3),
        ]
    assert rules["expire-old-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": each_env.config.noncurrent_version_expiration_days
    }


def test_every_bucket_expires_old_versions_and_stale_uploads(each_env):
    """infra/buckets.py: versioning without an expiry keeps every overwritten object forever."""
    days = each_env.config.noncurrent_version_expiration_days
    for logical_id, bucket in each_env.resources("AWS::S3::Bucket").items():
        whole_bucket = [
            r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"] if "Prefix" not in r
        ]
        assert any(
            r.get("NoncurrentVersionExpiration") == {"NoncurrentDays": days}
            and r.get("AbortIncompleteMultipartUpload")
            == {"DaysAfterInitiation": ABORT_INCOMPLETE_UPLOADS_DAYS}
            and r["Status"] == "Enabled"
            for r in whole_bucket
        ), logical_id


def test_every_bucket_removes_delete_markers_left_with_no_version(each_env):
    """A delete marker outlives the versions it hid unless a rule removes it: by
    ExpiredObjectDeleteMarker, or by expiring current objects (S3 then removes it by itself)."""
    for logical_id, bucket in each_env.resources("AWS::S3::Bucket").items():
        whole_bucket = [
            r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"] if "Prefix" not in r
        ]
        assert any(
            r.get("ExpiredObjectDeleteMarker") is True or "ExpirationInDays" in r for r in whole_bucket
        ), logical_id


def test_every_prefix_the_glue_job_stages_in_expires(each_env):
    """A run killed before it cleans up leaves nothing that is never removed (issue 10, item 2)."""
    data_bucket = each_env.template["Resources"][each_env.logical_id(each_env.stack.storage.data_bucket)]
    expiring = {
        r["Prefix"]: r["ExpirationInDays"]
        for r in data_bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        if "ExpirationInDays" in r
    }
    assert expiring[layout.STAGING_PREFIX] == layout.STAGING_EXPIRATION_DAYS
    assert layout.staging_prefix("manual__2026-11-25T17:18:46+00:00").startswith(layout.STAGING_PREFIX)
