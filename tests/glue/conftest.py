"""Fixtures of the Glue job tests (the data and helpers are in `bucket.py`)."""

from __future__ import annotations

import uuid

import pytest

from local_run import resources as local_resources


def create_kpi_table() -> str:
    """A fresh KPI table in moto (the `moto_server` fixture must be running) with docs/DESIGN.md's keys."""
    return local_resources.create_kpi_table(f"kpis-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def kpi_table(moto_server) -> str:
    return create_kpi_table()
