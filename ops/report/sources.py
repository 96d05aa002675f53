"""Where the report's data comes from: the KPI table, `reports/` and `archived_data/` of the data bucket.

The same reads serve `make demo` (against moto server: boto3 honours ``AWS_ENDPOINT_URL``) and
`make report` (against a deployed environment, with the user's credentials). The table and bucket
names come from the stack's CloudFormation outputs (``KpiTableName``, ``DataBucketName``:
infra/stack.py), so the report needs nothing but the environment name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from music_contract import items as contract_items
from music_contract import layout
from music_contract.items import DayInFlux

# Outputs of the stack that name what the report reads (tests/infra pins them against the template).
TABLE_OUTPUT = "KpiTableName"
BUCKET_OUTPUT = "DataBucketName"
_REPORT_KEY = re.compile(rf"^{re.escape(layout.REPORTS_PREFIX)}run_id=([^/]+)/data_quality\.json$")


class SourceError(RuntimeError):
    """The data could not be read; the message names the stack, table, bucket or key and why."""


@dataclass(frozen=True)
class ReportSource:
    table: str
    bucket: str

    def describe(self) -> str:
        return f"table {self.table}, bucket {self.bucket}"


@dataclass(frozen=True)
class ReportData:
    items: list[dict]
    quality_reports: list[dict]
    archived_keys: list[str]


def source_from_stack(stack_name: str, cloudformation: Any = None) -> ReportSource:
    """The table and bucket named by the outputs of the deployed stack `stack_name`."""
    client = cloudformation or boto3.client("cloudformation")
    # A stack that does not exist answers ValidationError (CloudFormation API Reference, DescribeStacks).
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as err:
        raise SourceError(
            f"stack {stack_name} ({client.meta.region_name}): {err.response['Error'].get('Message', err)}; "
            "deploy it (make deploy) or pick its region (--region)"
        ) from err
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [key for key in (TABLE_OUTPUT, BUCKET_OUTPUT) if not outputs.get(key)]
    if missing:
        raise SourceError(
            f"stack {stack_name} has no output {', '.join(missing)} (status {stacks[0].get('StackStatus')}); "
            "redeploy it with this version, or pass --table and --bucket"
        )
    return ReportSource(table=outputs[TABLE_OUTPUT], bucket=outputs[BUCKET_OUTPUT])


# How often a day read while a run replaced its items is read again before the report gives up.
DAY_READ_ATTEMPTS = 5


def _scan(table: Any, page_size: int | None) -> list[dict]:
    """Every stored item. A scan returns at most 1 MB a page (or `page_size` items) and
    ``LastEvaluatedKey`` while more remain (DynamoDB Developer Guide, "Scanning tables",
    Paginating the results): follow it to the end."""
    items: list[dict] = []
    kwargs: dict = {"Limit": page_size} if page_size else {}
    while True:
        page = table.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _query_day(table: Any, pk: str) -> list[dict]:
    """Every stored item of one day, read strongly consistent (one page holds a day's few hundred)."""
    items: list[dict] = []
    kwargs: dict = {
        "KeyConditionExpression": Key(contract_items.TABLE_PARTITION_KEY).eq(pk),
        "ConsistentRead": True,
    }
    while True:
        page = table.query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def read_kpi_items(table: str, dynamodb: Any = None, page_size: int | None = None) -> list[dict]:
    """The KPI items of every day, as docs/DESIGN.md's table lists them (Decimal numbers): each
    day's current version, followed through its pointer ("Reading a day's items").

    A day the scan caught while a run replaced it (its pointer's version not whole) is read again
    on its own, strongly consistent, until it is whole.
    """
    resource = dynamodb or boto3.resource("dynamodb")
    try:
        days: dict[str, list[dict]] = {}
        for item in _scan(resource.Table(table), page_size):
            days.setdefault(item[contract_items.TABLE_PARTITION_KEY], []).append(item)
        items: list[dict] = []
        for pk, day_items in days.items():
            for attempt in range(DAY_READ_ATTEMPTS):
                try:
                    items += contract_items.current_items(day_items)
                    break
                except DayInFlux:
                    if attempt == DAY_READ_ATTEMPTS - 1:
                        raise
                    day_items = _query_day(resource.Table(table), pk)
        return items
    except DayInFlux as err:
        raise SourceError(f"KPI table {table}: a run keeps replacing the day: {err}; try again") from err
    except ClientError as err:
        raise SourceError(f"KPI table {table}: {err.response['Error'].get('Message', err)}") from err


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    try:
        paginator = s3.get_paginator("list_objects_v2")
        return sorted(
            obj["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        )
    except ClientError as err:
        raise SourceError(f"s3://{bucket}/{prefix}: {err.response['Error'].get('Message', err)}") from err


def read_quality_reports(bucket: str, s3: Any = None) -> list[dict]:
    """Every run's ``reports/run_id=<id>/data_quality.json``; other keys under ``reports/`` are ignored."""
    client = s3 or boto3.client("s3")
    reports = []
    for key in _keys(client, bucket, layout.REPORTS_PREFIX):
        match = _REPORT_KEY.match(key)
        if not match:
            continue
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            raise SourceError(f"s3://{bucket}/{key}: {err.response['Error'].get('Message', err)}") from err
        try:
            report = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SourceError(f"s3://{bucket}/{key} is not a JSON data-quality report: {err}") from err
        if not isinstance(report, dict):
            raise SourceError(f"s3://{bucket}/{key} is not a JSON object")
        reports.append({"run_id": match.group(1), **report})
    return reports


def read_archived_keys(bucket: str, s3: Any = None) -> list[str]:
    """Every key under ``archived_data/``."""
    return _keys(s3 or boto3.client("s3"), bucket, layout.ARCHIVE_PREFIX)


def read_report_data(source: ReportSource, session: Any = None) -> ReportData:
    """Everything the report shows, read from one environment's table and bucket."""
    session = session or boto3.session.Session()
    s3 = session.client("s3")
    return ReportData(
        items=read_kpi_items(source.table, session.resource("dynamodb")),
        quality_reports=read_quality_reports(source.bucket, s3),
        archived_keys=read_archived_keys(source.bucket, s3),
    )
