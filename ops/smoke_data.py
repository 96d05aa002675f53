"""What ``make smoke`` writes to and reads from a deployment (`ops.smoke`): the generated batch, the
date's KPI items, every object the run may have written, and their removal."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from music_contract import items as contract_items
from music_contract import layout, metrics


class SmokeError(RuntimeError):
    """A check did not hold; the message says what was expected and what was found."""


def read_object(s3: Any, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def smoke_batch(songs_csv: bytes, users_csv: bytes, rows: int, seed: int) -> str:
    """A CSV of `rows` distinct listening events on SMOKE_TEST_DATE by known users of known tracks."""
    songs = list(csv.DictReader(io.StringIO(songs_csv.decode("utf-8-sig"))))
    users = list(csv.DictReader(io.StringIO(users_csv.decode("utf-8-sig"))))
    track_ids = sorted({row["track_id"] for row in songs if row.get("track_id")})
    user_ids = sorted({row["user_id"] for row in users if row.get("user_id")})
    if not track_ids or not user_ids:
        raise SmokeError("the deployment's reference files name no track or no user: upload them first")
    rng = random.Random(seed)
    tracks = rng.sample(track_ids, min(len(track_ids), 25))
    listeners = rng.sample(user_ids, min(len(user_ids), 40))
    day = datetime.fromisoformat(metrics.SMOKE_TEST_DATE)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(layout.STREAMS_COLUMNS)
    for index in range(rows):  # one event per second: no duplicates
        when = day + timedelta(seconds=index * 7 + rng.randrange(7))
        writer.writerow([rng.choice(listeners), rng.choice(tracks), when.strftime("%Y-%m-%d %H:%M:%S")])
    return out.getvalue()


def comparable(items: list[dict]) -> dict[tuple[str, str], dict]:
    """Items keyed by (pk, sk), without the per-run bookkeeping attributes."""
    skip = (
        contract_items.TABLE_PARTITION_KEY,
        contract_items.TABLE_SORT_KEY,
        contract_items.ITEM_RUN_ID,
        contract_items.ITEM_UPDATED_AT,
    )
    return {
        (item[contract_items.TABLE_PARTITION_KEY], item[contract_items.TABLE_SORT_KEY]): {
            k: v for k, v in item.items() if k not in skip
        }
        for item in items
    }


def date_items(dynamodb: Any, table: str, day: str) -> list[dict]:
    """Every item of `day` (partition ``DATE#<day>``), all pages, read strongly consistent: the run's
    writes and smoke's own deletes are moments old, and an eventually consistent Query may not show
    them yet (DynamoDB developer guide, "Read consistency")."""
    items, kwargs = [], {}
    while True:
        page = dynamodb.Table(table).query(
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": contract_items.TABLE_PARTITION_KEY},
            ExpressionAttributeValues={":pk": contract_items.date_pk(day)},
            ConsistentRead=True,
            **kwargs,
        )
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def keys_under(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def archived_batches(s3: Any, bucket: str, raw_key: str) -> list[str]:
    """The archived copies of the batch `raw_key` (an archive key ends with the path under raw_data/)."""
    tail = "/" + raw_key.removeprefix(layout.RAW_PREFIX)
    return [k for k in keys_under(s3, bucket, layout.ARCHIVE_PREFIX) if k.endswith(tail)]


def run_id_of(archive_key: str) -> str:
    """The (sanitized) run id in an archive key ``archived_data/YYYY/MM/DD/run_id=<id>/...``."""
    return archive_key.split("/run_id=", 1)[1].split("/", 1)[0]


def pipeline_run_ids(s3: Any, bucket: str, safe_run_id: str, raw_key: str, since: datetime) -> set[str]:
    """The run ids the pipeline wrote the batch's objects under: smoke's own (an Airflow run takes the id
    it is given), and the one the orchestrator chose when it does not take it (MWAA Serverless names
    its Airflow run itself): read from the batch's archive key, or from a manifest written since
    `since` that lists the batch (a run that failed before archiving)."""
    ids = {safe_run_id} | {run_id_of(k) for k in archived_batches(s3, bucket, raw_key)}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=layout.MANIFESTS_PREFIX)
    for obj in (o for page in pages for o in page.get("Contents", []) if o["LastModified"] >= since):
        if raw_key.encode() in read_object(s3, bucket, obj["Key"]):
            ids.add(obj["Key"].split("run_id=", 1)[1].removesuffix(".json"))
    return ids


def smoke_keys(s3: Any, bucket: str, safe_run_id: str, raw_key: str, since: datetime) -> list[str]:
    """Every object the smoke run may have written: the raw batch (if not archived), the date's curated
    partitions, the archived batch, the run's manifest, report, quarantine and staging objects."""
    partition = f"/{layout.PARTITION_COLUMN}={metrics.SMOKE_TEST_DATE}/"
    curated = [k for k in keys_under(s3, bucket, layout.CURATED_PREFIX) if partition in k]
    archived = archived_batches(s3, bucket, raw_key)
    own = []
    for run_id in pipeline_run_ids(s3, bucket, safe_run_id, raw_key, since):
        run_prefixes = (
            layout.quarantine_prefix(run_id),
            layout.report_key(run_id).rsplit("/", 1)[0] + "/",
            layout.staging_prefix(run_id),
            layout.manifest_key(run_id),
        )
        own += [k for prefix in run_prefixes for k in keys_under(s3, bucket, prefix)]
    raw = [k for k in keys_under(s3, bucket, raw_key)]
    return sorted({*raw, *curated, *archived, *own})


def clean_up(
    s3: Any, dynamodb: Any, bucket: str, table: str, safe_run_id: str, raw_key: str, since: datetime
) -> str:
    """Remove what the smoke run wrote to `bucket` and `table`; a summary of what was removed."""
    keys = smoke_keys(s3, bucket, safe_run_id, raw_key, since)
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    items = date_items(dynamodb, table, metrics.SMOKE_TEST_DATE)
    with dynamodb.Table(table).batch_writer() as writer:
        for item in items:
            writer.delete_item(
                Key={k: item[k] for k in (contract_items.TABLE_PARTITION_KEY, contract_items.TABLE_SORT_KEY)}
            )
    left = smoke_keys(s3, bucket, safe_run_id, raw_key, since)
    left_items = date_items(dynamodb, table, metrics.SMOKE_TEST_DATE)
    if left or left_items:
        raise SmokeError(f"still there after cleanup: {len(left)} object(s), {len(left_items)} item(s)")
    return f"removed {len(keys)} object(s), {len(items)} item(s)"


def freshness_samples(session: Any, env_name: str, since: datetime) -> int:
    """How many freshness data points the environment has published since `since`."""
    response = session.client("cloudwatch").get_metric_statistics(
        Namespace=metrics.METRIC_NAMESPACE,
        MetricName=metrics.METRIC_KPI_FRESHNESS_HOURS,
        Dimensions=[{"Name": metrics.METRIC_DIMENSION_ENVIRONMENT, "Value": env_name}],
        StartTime=since,
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount"],
    )
    return int(sum(point["SampleCount"] for point in response.get("Datapoints", [])))


def left_in_place(bucket: str, table: str, run_id: str, raw_key: str, kept: bool) -> str:
    """What smoke says when it removes nothing: asked to (``--keep``), or the run was not seen to end
    and may still be writing (a cleanup would race it and miss what it writes afterwards)."""
    if kept:
        return f"--keep: left the run's data in s3://{bucket} and {table}"
    return (
        f"run {run_id} was not seen to end, so it may still be writing: its batch (s3://{bucket}/{raw_key}) "
        f"and whatever it writes stay in place. Once it has ended, delete them: the items of "
        f"{metrics.SMOKE_TEST_DATE} in {table} and, in the bucket, that date's curated partitions and "
        "the run's archive, manifest and report"
    )
