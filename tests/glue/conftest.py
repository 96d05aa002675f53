"""Fixtures of the Glue job tests (the data and helpers are in `bucket.py`)."""

from __future__ import annotations

import uuid

import boto3
import pytest

from music_pipeline import contract


def create_kpi_table() -> str:
    """A fresh KPI table in moto (the `moto_server` fixture must be running) with DESIGN.md's keys."""
    name = f"kpis-{uuid.uuid4().hex[:12]}"
    key_names = (
        contract.TABLE_PARTITION_KEY,
        contract.TABLE_SORT_KEY,
        contract.GSI1_PARTITION_KEY,
        contract.GSI1_SORT_KEY,
    )
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in key_names],
        KeySchema=[
            {"AttributeName": contract.TABLE_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": contract.TABLE_SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": contract.GSI1_NAME,
                "KeySchema": [
                    {"AttributeName": contract.GSI1_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": contract.GSI1_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return name


@pytest.fixture
def kpi_table(moto_server) -> str:
    return create_kpi_table()
