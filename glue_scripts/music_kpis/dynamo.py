"""The KPI items of docs/DESIGN.md ("DynamoDB items") and their replacement in the table.

Items are built from the aggregated KPI rows (a few hundred per day), collected to the driver;
event-level data never is. Numbers are `Decimal`, as DynamoDB wants them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key

from music_pipeline import contract

Item = dict[str, Any]


def _number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not an exact number: {value!r}")
    return Decimal(value)


def kpi_items(
    kpis: Iterable[Mapping[str, Any]],
    songs: Iterable[Mapping[str, Any]],
    genres: Iterable[Mapping[str, Any]],
    run_id: str,
    updated_at: str,
) -> list[Item]:
    """Every item of the touched dates from the rows of `daily_genre_kpis`, `top_songs`, `top_genres`."""
    stamp = {"run_id": run_id, "updated_at": updated_at}
    items: list[Item] = []
    for row in kpis:
        day, genre = row[contract.PARTITION_COLUMN], row["genre"]
        items.append(
            {
                contract.TABLE_PARTITION_KEY: contract.date_pk(day),
                contract.TABLE_SORT_KEY: contract.genre_sk(genre),
                "record_type": contract.RECORD_DAILY_GENRE_KPI,
                "date": day,
                "genre": genre,
                "listen_count": _number(row["listen_count"]),
                "unique_listeners": _number(row["unique_listeners"]),
                "total_listening_time_seconds": _number(row["total_listening_time_seconds"]),
                "avg_listening_time_per_user_seconds": _number(row["avg_listening_time_per_user_seconds"]),
                contract.GSI1_PARTITION_KEY: contract.genre_sk(genre),
                contract.GSI1_SORT_KEY: contract.date_pk(day),
                **stamp,
            }
        )
    by_genre: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for row in songs:
        by_genre[(row[contract.PARTITION_COLUMN], row["genre"])].append(row)
    for (day, genre), rows in sorted(by_genre.items()):
        items.append(
            {
                contract.TABLE_PARTITION_KEY: contract.date_pk(day),
                contract.TABLE_SORT_KEY: contract.top_songs_sk(genre),
                "record_type": contract.RECORD_TOP_SONGS,
                "date": day,
                "genre": genre,
                "top_songs": [
                    {
                        "rank": _number(r["rank"]),
                        "track_id": r["track_id"],
                        "track_name": r["track_name"],
                        "artists": r["artists"],
                        "listen_count": _number(r["listen_count"]),
                    }
                    for r in sorted(rows, key=lambda r: r["rank"])
                ],
                **stamp,
            }
        )
    by_day: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in genres:
        by_day[row[contract.PARTITION_COLUMN]].append(row)
    for day, rows in sorted(by_day.items()):
        items.append(
            {
                contract.TABLE_PARTITION_KEY: contract.date_pk(day),
                contract.TABLE_SORT_KEY: contract.TOP_GENRES_SK,
                "record_type": contract.RECORD_TOP_GENRES,
                "date": day,
                "top_genres": [
                    {
                        "rank": _number(r["rank"]),
                        "genre": r["genre"],
                        "listen_count": _number(r["listen_count"]),
                    }
                    for r in sorted(rows, key=lambda r: r["rank"])
                ],
                **stamp,
            }
        )
    return items


@dataclass(frozen=True)
class WriteResult:
    written: int
    deleted: int


def _existing_keys(table, day: str) -> set[tuple[str, str]]:
    pk, sk = contract.TABLE_PARTITION_KEY, contract.TABLE_SORT_KEY
    found: set[tuple[str, str]] = set()
    query = {
        "KeyConditionExpression": Key(pk).eq(contract.date_pk(day)),
        "ProjectionExpression": "#pk, #sk",
        "ExpressionAttributeNames": {"#pk": pk, "#sk": sk},
    }
    while True:
        page = table.query(**query)
        found.update((item[pk], item[sk]) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return found
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def replace_items(table_name: str, items: Sequence[Item], dates: Iterable[str], resource=None) -> WriteResult:
    """Make the items of `dates` exactly `items`: batched puts first, then deletes of stale items.

    Writing before deleting means a reader never sees a touched day without KPIs.
    """
    if resource is None:
        import boto3

        resource = boto3.resource("dynamodb")
    table = resource.Table(table_name)
    pk, sk = contract.TABLE_PARTITION_KEY, contract.TABLE_SORT_KEY
    new_keys = {(item[pk], item[sk]) for item in items}
    stale = sorted({key for day in sorted(set(dates)) for key in _existing_keys(table, day)} - new_keys)
    with table.batch_writer(overwrite_by_pkeys=[pk, sk]) as batch:
        for item in items:
            batch.put_item(Item=item)
    with table.batch_writer() as batch:
        for key_pk, key_sk in stale:
            batch.delete_item(Key={pk: key_pk, sk: key_sk})
    return WriteResult(written=len(items), deleted=len(stale))
