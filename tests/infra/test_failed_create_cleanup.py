"""The failed-create cleanup's handler against the emulator: it empties retained buckets and lifts
table deletion protection only while a failed first create rolls back, never on an update or delete."""

from __future__ import annotations

import uuid

import boto3
import pytest

from infra.failed_create_handler import index as handler


def _retained_resources() -> tuple[str, str]:
    s3 = boto3.client("s3")
    bucket = f"cleanup-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"v1", b"v2"):  # two versions of one key, and a delete marker on another
        s3.put_object(Bucket=bucket, Key="dags/dag.py", Body=body)
    s3.put_object(Bucket=bucket, Key="logs/one", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="logs/one")
    table = f"cleanup-{uuid.uuid4().hex[:12]}"
    boto3.client("dynamodb").create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=True,
    )
    return bucket, table


def _versions(bucket: str) -> int:
    listing = boto3.client("s3").list_object_versions(Bucket=bucket)
    return len(listing.get("Versions", [])) + len(listing.get("DeleteMarkers", []))


def _protected(table: str) -> bool:
    return boto3.client("dynamodb").describe_table(TableName=table)["Table"]["DeletionProtectionEnabled"]


def _event(request_type: str, bucket: str, table: str) -> dict:
    return {"RequestType": request_type, "ResourceProperties": {"Buckets": [bucket], "Tables": [table]}}


def test_a_failed_creates_rollback_empties_buckets_and_unprotects_tables(moto_server):
    bucket, table = _retained_resources()
    assert _versions(bucket) == 4
    assert _protected(table)
    result = handler.clean_up(_event("Delete", bucket, table), handler.FAILED_CREATE_STATUS)
    assert result["cleaned"] is True
    assert _versions(bucket) == 0
    assert not _protected(table)
    boto3.client("s3").delete_bucket(Bucket=bucket)  # what CloudFormation does next now succeeds
    boto3.client("dynamodb").delete_table(TableName=table)


@pytest.mark.parametrize(
    ("request_type", "stack_status"),
    [
        ("Delete", "DELETE_IN_PROGRESS"),  # cdk destroy: retained data stays whole
        ("Delete", "UPDATE_ROLLBACK_IN_PROGRESS"),  # the resource removed by a failed update's rollback
        ("Delete", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),  # the resource removed by an update
        ("Create", "CREATE_IN_PROGRESS"),
        ("Update", "UPDATE_IN_PROGRESS"),
    ],
)
def test_no_other_request_or_status_touches_the_data(moto_server, request_type, stack_status):
    bucket, table = _retained_resources()
    result = handler.clean_up(_event(request_type, bucket, table), stack_status)
    assert result["cleaned"] is False
    assert _versions(bucket) == 4
    assert _protected(table)
