"""DynamoDB publication against moto: the job's region and retry mode, and throttling that either
is absorbed or fails loudly, naming the dates it left partly updated."""

from __future__ import annotations

import re
from types import SimpleNamespace

import boto3
import pytest

from music_kpis import dynamo
from tests.glue.bucket import FIRST_DAY, SECOND_DAY, comparable, stored_items, table_items


def test_the_resource_uses_the_jobs_region_and_adaptive_retries(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = dynamo.kpi_resource().meta.client
    assert client.meta.region_name == "eu-west-3"
    assert client.meta.config.retries["mode"] == "adaptive"
    monkeypatch.delenv("AWS_REGION")
    assert dynamo.kpi_resource().meta.client.meta.region_name == "us-east-1"


class ThrottledTable:
    """The real moto table, but for the first `throttled_calls` calls BatchWriteItem takes only
    `taken` requests (at least 1) and returns the rest unprocessed, as a throttled DynamoDB does."""

    def __init__(self, table, throttled_calls: int, taken=lambda requests: len(requests) // 2):
        self._table = table
        self.calls = 0
        real = table.meta.client

        def batch_write_item(RequestItems):  # boto3 names the parameter so
            ((name, requests),) = RequestItems.items()
            self.calls += 1
            if self.calls > throttled_calls:
                return real.batch_write_item(RequestItems=RequestItems)
            half = max(1, taken(requests))
            real.batch_write_item(RequestItems={name: requests[:half]})
            return {"UnprocessedItems": {name: requests[half:]} if requests[half:] else {}}

        self.meta = SimpleNamespace(client=SimpleNamespace(batch_write_item=batch_write_item))

    def __getattr__(self, name):
        return getattr(self._table, name)


def _items(count: int) -> list[dict]:
    return [
        {
            "pk": f"DATE#{FIRST_DAY if n % 2 else SECOND_DAY}",
            "sk": f"GENRE#g{n:03d}",
            "record_type": "DAILY_GENRE_KPI",
        }
        for n in range(count)
    ]


def _resource(table: ThrottledTable):
    return SimpleNamespace(Table=lambda name: table)


def test_a_throttled_publication_backs_off_and_finishes(kpi_table):
    stale = {"pk": f"DATE#{FIRST_DAY}", "sk": "GENRE#polka", "record_type": "DAILY_GENRE_KPI"}
    boto3.resource("dynamodb").Table(kpi_table).put_item(Item=stale)
    table = ThrottledTable(boto3.resource("dynamodb").Table(kpi_table), throttled_calls=5)
    pauses: list[float] = []
    items = _items(60)
    written = dynamo.replace_items(
        kpi_table, items, [FIRST_DAY, SECOND_DAY], resource=_resource(table), sleep=pauses.append
    )
    assert (written.written, written.deleted) == (60, 1)
    assert sorted(i["sk"] for i in table_items(kpi_table)) == sorted(i["sk"] for i in items)
    assert len(pauses) == 5
    assert all(p > 0 for p in pauses)


def test_persistent_throttling_fails_loudly_naming_the_dates(kpi_table):
    table = ThrottledTable(
        boto3.resource("dynamodb").Table(kpi_table), throttled_calls=10**6, taken=lambda requests: 1
    )
    pauses: list[float] = []
    with pytest.raises(dynamo.PublishError) as failure:
        dynamo.replace_items(
            kpi_table, _items(30), [SECOND_DAY, FIRST_DAY], resource=_resource(table), sleep=pauses.append
        )
    message = str(failure.value)
    assert re.search(
        rf"left \d+ of 30 KPI items unprocessed .*\['{FIRST_DAY}', '{SECOND_DAY}'\] are partly updated",
        message,
    )
    assert len(pauses) == dynamo.UNPROCESSED_ROUNDS
    assert pauses[-1] >= pauses[0]  # backing off, not hammering
    assert 0 < len(stored_items(kpi_table)) < 30  # what was written is said, not hidden
    assert table_items(kpi_table) == []  # no pointer written: readers still see the earlier version


class ReadDuringWrites:
    """The real moto table; after every BatchWriteItem a reader reads the table the documented way."""

    def __init__(self, table, read):
        self._table, self.views = table, []
        real = table.meta.client

        def batch_write_item(RequestItems):  # boto3 names the parameter so
            response = real.batch_write_item(RequestItems=RequestItems)
            self.views.append(read())
            return response

        self.meta = SimpleNamespace(client=SimpleNamespace(batch_write_item=batch_write_item))

    def __getattr__(self, name):
        return getattr(self._table, name)


def _day(run_id: str, genres: list[str], listens: int) -> list[dict]:
    stamp = {"run_id": run_id, "updated_at": f"{run_id}-time"}
    kpis = [
        {"pk": f"DATE#{FIRST_DAY}", "sk": f"GENRE#{g}", "record_type": "DAILY_GENRE_KPI", "genre": g,
         "listen_count": listens, **stamp}
        for g in genres
    ]  # fmt: skip
    top = [{"rank": n + 1, "genre": g, "listen_count": listens} for n, g in enumerate(genres[:5])]
    return [
        *kpis,
        {
            "pk": f"DATE#{FIRST_DAY}",
            "sk": "TOP_GENRES",
            "record_type": "TOP_GENRES",
            "top_genres": top,
            **stamp,
        },
    ]


def test_a_reader_during_a_replacement_sees_one_whole_version_of_the_day(kpi_table):
    """The day's items are replaced in several batches; a reader between any two sees either the
    earlier run's items or the new run's, whole: never some genres new and some old."""
    from ops.report.sources import read_kpi_items

    earlier = _day("earlier", [f"g{n:02d}" for n in range(40)], 1)
    dynamo.replace_items(kpi_table, earlier, [FIRST_DAY])
    later = _day("later", [f"g{n:02d}" for n in range(5, 45)], 2)  # 5 genres gone, 5 new
    table = ReadDuringWrites(boto3.resource("dynamodb").Table(kpi_table), lambda: read_kpi_items(kpi_table))

    dynamo.replace_items(kpi_table, later, [FIRST_DAY], resource=_resource(table))

    whole = {"earlier": comparable(earlier), "later": comparable(later)}
    assert len(table.views) > 3  # puts, the pointer, deletes: several batches
    for view in table.views:
        [run] = {i["run_id"] for i in view}
        assert comparable(view) == whole[run]
    assert {i["run_id"] for i in table.views[-1]} == {"later"}
    assert {i["run_id"] for i in stored_items(kpi_table)} == {"later"}  # the earlier version is gone


def test_the_stale_items_of_a_day_are_found_with_a_strongly_consistent_query():
    """moto always reads consistently; DynamoDB does only when asked, and an item missed there
    would never be deleted."""
    queries = []

    class RecordingTable:
        def query(self, **kwargs):
            queries.append(kwargs)
            return {"Items": []} if len(queries) > 1 else {"Items": [], "LastEvaluatedKey": {"pk": "x"}}

    dynamo._existing_keys(RecordingTable(), FIRST_DAY)
    assert len(queries) == 2
    assert all(query["ConsistentRead"] is True for query in queries)
