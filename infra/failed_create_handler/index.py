"""Custom-resource handler of infra/failed_create_cleanup.py (shipped inline, standard library + boto3).

On ``Delete`` while the stack is ``ROLLBACK_IN_PROGRESS`` (a failed first create), it lifts the
deletion protection of the named tables and deletes every object version in the named buckets, so
CloudFormation can delete them. Any other request, or any other status, changes nothing.
"""

import json
import urllib.request

import boto3

FAILED_CREATE_STATUS = "ROLLBACK_IN_PROGRESS"


def clean_up(event, stack_status, s3=None, dynamodb=None):
    """Return what was done; act only on a Delete during a failed create's rollback."""
    if event["RequestType"] != "Delete" or stack_status != FAILED_CREATE_STATUS:
        return {"stack_status": stack_status, "cleaned": False}
    props = event["ResourceProperties"]
    dynamodb = dynamodb or boto3.client("dynamodb")
    s3 = s3 or boto3.resource("s3")
    for table in props.get("Tables", []):
        dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
    for bucket in props.get("Buckets", []):
        s3.Bucket(bucket).object_versions.delete()
    return {"stack_status": stack_status, "cleaned": True, **props}


def _respond(event, status, reason):
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:500],
            "PhysicalResourceId": event.get("PhysicalResourceId") or event["LogicalResourceId"],
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {},
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    urllib.request.urlopen(request, timeout=30)


def handler(event, _context):
    try:
        status = ""
        if event["RequestType"] == "Delete":
            stacks = boto3.client("cloudformation").describe_stacks(StackName=event["StackId"])
            status = stacks["Stacks"][0]["StackStatus"]
        result = clean_up(event, status)
        print(json.dumps(result))
        _respond(event, "SUCCESS", json.dumps(result))
    except Exception as err:  # without an answer CloudFormation waits an hour
        print(repr(err))
        _respond(event, "FAILED", repr(err))
