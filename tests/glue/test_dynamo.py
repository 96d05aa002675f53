"""DynamoDB publication against moto: the job's region and retry mode, and throttling that either
is absorbed or fails loudly, naming the dates it left partly updated."""

from __future__ import annotations

import re
from types import SimpleNamespace

import boto3
import pytest

from music_kpis import dynamo
from tests.glue.bucket import D1, D2, table_items


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
        {"pk": f"DATE#{D1 if n % 2 else D2}", "sk": f"GENRE#g{n:03d}", "record_type": "DAILY_GENRE_KPI"}
        for n in range(count)
    ]


def _resource(table: ThrottledTable):
    return SimpleNamespace(Table=lambda name: table)


def test_a_throttled_publication_backs_off_and_finishes(kpi_table):
    stale = {"pk": f"DATE#{D1}", "sk": "GENRE#polka", "record_type": "DAILY_GENRE_KPI"}
    boto3.resource("dynamodb").Table(kpi_table).put_item(Item=stale)
    table = ThrottledTable(boto3.resource("dynamodb").Table(kpi_table), throttled_calls=5)
    pauses: list[float] = []
    items = _items(60)
    written = dynamo.replace_items(kpi_table, items, [D1, D2], resource=_resource(table), sleep=pauses.append)
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
        dynamo.replace_items(kpi_table, _items(30), [D2, D1], resource=_resource(table), sleep=pauses.append)
    message = str(failure.value)
    assert re.search(
        rf"left \d+ of 30 KPI items unprocessed .*\['{D1}', '{D2}'\] are partly updated", message
    )
    assert len(pauses) == dynamo.UNPROCESSED_ROUNDS
    assert pauses[-1] >= pauses[0]  # backing off, not hammering
    assert 0 < len(table_items(kpi_table)) < 30  # what was written is said, not hidden
