"""The KPI items of docs/DESIGN.md ("DynamoDB items") and their replacement in the table.

Items are built from the aggregated KPI rows (a few hundred per day), collected to the driver;
event-level data never is. Numbers are `Decimal`, as DynamoDB wants them.
"""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key

from music_contract import items as contract_items
from music_contract import layout

Item = dict[str, Any]


def _number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not an exact number: {value!r}")
    return Decimal(value)


def _attributes(row: Mapping[str, Any], names: Iterable[str]) -> Item:
    """The named attributes of `row`: numbers as Decimal (`ITEM_NUMBER_ATTRIBUTES`), the rest as they are."""
    return {
        name: _number(row[name]) if name in contract_items.ITEM_NUMBER_ATTRIBUTES else row[name]
        for name in names
    }


def _ranked(rows: Iterable[Mapping[str, Any]], names: Sequence[str]) -> list[Item]:
    return [_attributes(r, names) for r in sorted(rows, key=lambda r: r["rank"])]


def _grouped(rows: Iterable[Mapping[str, Any]], *columns: str) -> list[tuple[tuple, list[Mapping[str, Any]]]]:
    groups: dict[tuple, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[c] for c in columns)].append(row)
    return sorted(groups.items())


def kpi_items(
    kpis: Iterable[Mapping[str, Any]],
    songs: Iterable[Mapping[str, Any]],
    genres: Iterable[Mapping[str, Any]],
    run_id: str,
    updated_at: str,
) -> list[Item]:
    """Every item of the touched dates from the rows of `daily_genre_kpis`, `top_songs`, `top_genres`."""
    stamp = {contract_items.ITEM_RUN_ID: run_id, contract_items.ITEM_UPDATED_AT: updated_at}
    items: list[Item] = []
    for row in kpis:
        day, genre = row[layout.PARTITION_COLUMN], row["genre"]
        items.append(
            {
                contract_items.TABLE_PARTITION_KEY: contract_items.date_pk(day),
                contract_items.TABLE_SORT_KEY: contract_items.genre_sk(genre),
                contract_items.ITEM_RECORD_TYPE: contract_items.RECORD_DAILY_GENRE_KPI,
                contract_items.ITEM_DATE: day,
                contract_items.ITEM_GENRE: genre,
                **_attributes(row, contract_items.KPI_MEASURES),
                contract_items.GSI1_PARTITION_KEY: contract_items.genre_sk(genre),
                contract_items.GSI1_SORT_KEY: contract_items.date_pk(day),
                **stamp,
            }
        )
    for (day, genre), rows in _grouped(songs, layout.PARTITION_COLUMN, "genre"):
        items.append(
            {
                contract_items.TABLE_PARTITION_KEY: contract_items.date_pk(day),
                contract_items.TABLE_SORT_KEY: contract_items.top_songs_sk(genre),
                contract_items.ITEM_RECORD_TYPE: contract_items.RECORD_TOP_SONGS,
                contract_items.ITEM_DATE: day,
                contract_items.ITEM_GENRE: genre,
                contract_items.ITEM_TOP_SONGS: _ranked(rows, contract_items.TOP_SONG_ATTRIBUTES),
                **stamp,
            }
        )
    for (day,), rows in _grouped(genres, layout.PARTITION_COLUMN):
        items.append(
            {
                contract_items.TABLE_PARTITION_KEY: contract_items.date_pk(day),
                contract_items.TABLE_SORT_KEY: contract_items.TOP_GENRES_SK,
                contract_items.ITEM_RECORD_TYPE: contract_items.RECORD_TOP_GENRES,
                contract_items.ITEM_DATE: day,
                contract_items.ITEM_TOP_GENRES: _ranked(rows, contract_items.TOP_GENRE_ATTRIBUTES),
                **stamp,
            }
        )
    return items


@dataclass(frozen=True)
class WriteResult:
    written: int
    deleted: int


def _existing_keys(table, day: str) -> set[tuple[str, str]]:
    pk, sk = contract_items.TABLE_PARTITION_KEY, contract_items.TABLE_SORT_KEY
    found: set[tuple[str, str]] = set()
    query = {
        "KeyConditionExpression": Key(pk).eq(contract_items.date_pk(day)),
        "ProjectionExpression": "#pk, #sk",
        "ExpressionAttributeNames": {"#pk": pk, "#sk": sk},
        # A Query reads eventually consistent unless asked (DynamoDB API reference, Query,
        # ConsistentRead): an item written moments ago (this run's rebuild, a failed attempt's batch)
        # could be missing, and would then never be deleted as stale.
        "ConsistentRead": True,
    }
    while True:
        page = table.query(**query)
        found.update((item[pk], item[sk]) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return found
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class PublishError(RuntimeError):
    """DynamoDB did not take every write of the run's dates: the table holds a partial update."""


# Adaptive mode: exponential backoff with jitter for throttled and failed calls, plus a
# client-side rate limiter that slows every call once DynamoDB throttles (boto3 guide, "Retries").
RETRIES = {"mode": "adaptive", "max_attempts": 10}
BATCH_LIMIT = 25  # BatchWriteItem's maximum number of requests
# UnprocessedItems come back in a successful response, which botocore does not retry: each batch
# re-sends what is left with its own backoff, at most this many times, then fails loudly.
UNPROCESSED_ROUNDS = 8
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 0.05, 5.0


def job_region() -> str:
    """The job's AWS region: `AWS_REGION` (what Glue and Lambda set), `AWS_DEFAULT_REGION` (the
    one botocore reads), then botocore's own chain (config file, instance metadata)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        import boto3

        region = boto3.session.Session().region_name
    if not region:
        raise RuntimeError("no AWS region for DynamoDB: set AWS_REGION (Glue sets it for every job run)")
    return region


def kpi_resource():
    """The DynamoDB resource the job writes with: the job's region, adaptive retries."""
    import boto3
    from botocore.config import Config

    return boto3.resource("dynamodb", region_name=job_region(), config=Config(retries=RETRIES))


def _write_batches(table, requests: Sequence[dict], what: str, dates: Sequence[str], sleep) -> int:
    """Send `requests` (BatchWriteItem entries) 25 at a time; re-send unprocessed ones with backoff.

    Returns how many were sent; raises `PublishError` naming the dates when DynamoDB keeps some.
    """
    client = table.meta.client
    done = 0
    for start in range(0, len(requests), BATCH_LIMIT):
        batch = list(requests[start : start + BATCH_LIMIT])
        for attempt in range(UNPROCESSED_ROUNDS + 1):
            response = client.batch_write_item(RequestItems={table.name: batch})
            left = response.get("UnprocessedItems", {}).get(table.name, [])
            done += len(batch) - len(left)
            batch = left
            if not batch:
                break
            if attempt == UNPROCESSED_ROUNDS:
                raise PublishError(
                    f"DynamoDB table {table.name} left {len(requests) - done} of {len(requests)} {what} "
                    f"unprocessed (throttled) after {UNPROCESSED_ROUNDS + 1} attempts per batch: the "
                    f"items of {list(dates)} are partly updated; rerun the job to publish them"
                )
            delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
            sleep(delay * random.uniform(0.5, 1.0))
    return done


def new_version() -> str:
    """A version id for one replacement of a day's items: unique per call (UTC time, microseconds)."""
    return datetime.now(UTC).strftime("v%Y%m%dT%H%M%S%fZ")


def day_pointers(items: Sequence[Item], days: Sequence[str], version: str) -> list[Item]:
    """Each day's pointer to `version` (docs/DESIGN.md, "Reading a day's items"), with the number of
    items of that version and the run's stamp."""
    pointers = []
    for day in days:
        day_items = [i for i in items if i[contract_items.TABLE_PARTITION_KEY] == contract_items.date_pk(day)]
        stamp = {
            k: day_items[0][k]
            for k in (contract_items.ITEM_RUN_ID, contract_items.ITEM_UPDATED_AT)
            if day_items and k in day_items[0]
        }
        pointers.append(
            {
                contract_items.TABLE_PARTITION_KEY: contract_items.date_pk(day),
                contract_items.TABLE_SORT_KEY: contract_items.DAY_VERSION_SK,
                contract_items.ITEM_RECORD_TYPE: contract_items.RECORD_DAY_VERSION,
                contract_items.ITEM_DATE: day,
                contract_items.ITEM_VERSION: version,
                contract_items.ITEM_COUNT: Decimal(len(day_items)),
                **stamp,
            }
        )
    return pointers


def replace_items(
    table_name: str,
    items: Sequence[Item],
    dates: Iterable[str],
    resource=None,
    sleep=time.sleep,
    version: str | None = None,
) -> WriteResult:
    """Make the items of `dates` exactly `items`, as one new version per day a reader switches to at once.

    1. puts every item under its versioned key (`contract_items.versioned_sk`): readers still follow
       the day's pointer to the earlier version;
    2. puts each day's pointer (a single-item write: atomic), once all of that day's items exist;
    3. deletes the day's earlier items (every other key of the day but the pointer).
    A reader never sees a day without KPIs nor two runs mixed. Every write is confirmed: a
    throttled publication either finishes or raises `PublishError`, leaving the pointer on the
    earlier version (or on the new one, whole) and the next run cleans up.
    """
    table = (resource or kpi_resource()).Table(table_name)
    pk, sk = contract_items.TABLE_PARTITION_KEY, contract_items.TABLE_SORT_KEY
    days = sorted(set(dates))
    version = version or new_version()
    by_key = {  # one request per key and batch
        (item[pk], contract_items.versioned_sk(version, item[sk])): {
            **item,
            sk: contract_items.versioned_sk(version, item[sk]),
            contract_items.ITEM_VERSION: version,
        }
        for item in items
    }
    pointers = day_pointers(list({(i[pk], i[sk]): i for i in items}.values()), days, version)
    keep = set(by_key) | {(p[pk], p[sk]) for p in pointers}
    stale = sorted({key for day in days for key in _existing_keys(table, day)} - keep)
    puts = [{"PutRequest": {"Item": item}} for item in by_key.values()]
    deletes = [{"DeleteRequest": {"Key": {pk: key_pk, sk: key_sk}}} for key_pk, key_sk in stale]
    written = _write_batches(table, puts, "KPI items", days, sleep)
    _write_batches(table, [{"PutRequest": {"Item": p}} for p in pointers], "day pointers", days, sleep)
    deleted = _write_batches(table, deletes, "stale item deletions", days, sleep)
    return WriteResult(written=written, deleted=deleted)
