"""infra/quicksight_dashboard.py: the optional QuickSight data source, datasets and dashboard, only
with a QuickSight principal (conftest.py's `with_optional_parts` sets one)."""

from __future__ import annotations

import json
import subprocess

from infra.quicksight_dashboard import DATASET_TABLES, QUICKSIGHT_SERVICE_ROLE_NAME, table_columns
from music_contract import items, layout
from tests.infra.conftest import CFN_LINT, OPTIONAL_PARTS

QUICKSIGHT_TYPES = ("AWS::QuickSight::DataSource", "AWS::QuickSight::DataSet", "AWS::QuickSight::Dashboard")


def test_nothing_in_quicksight_without_a_principal(each_env):
    assert not [r for r in each_env.template["Resources"].values() if r["Type"] in QUICKSIGHT_TYPES]


def test_the_dashboard_reads_the_kpi_tables_through_the_workgroup(with_optional_parts):
    synth = with_optional_parts
    assert synth.validation_error is None, synth.validation_error
    principal = OPTIONAL_PARTS["quicksight_principal_arn"]
    source = synth.only("AWS::QuickSight::DataSource")
    assert source["Type"] == "ATHENA"
    assert source["DataSourceParameters"]["AthenaParameters"]["WorkGroup"] == {
        "Ref": synth.stack.get_logical_id(synth.stack.analytics.workgroup)
    }
    data_sets = {
        d["Properties"]["PhysicalTableMap"]["athena-table"]["RelationalTable"]["Name"]: d["Properties"]
        for d in synth.resources("AWS::QuickSight::DataSet").values()
    }
    assert sorted(data_sets) == sorted(DATASET_TABLES)
    for table, data_set in data_sets.items():
        assert data_set["ImportMode"] == "DIRECT_QUERY"
        relational = data_set["PhysicalTableMap"]["athena-table"]["RelationalTable"]
        assert relational["Schema"] == synth.config.database_name
        catalog = {name for name, _ in table_columns(table)}
        assert {c["Name"] for c in relational["InputColumns"]} <= catalog
    dashboard = synth.only("AWS::QuickSight::Dashboard")
    definition = dashboard["Definition"]
    # Every column a visual uses is an input column of the dataset it names.
    inputs = {
        table: {c["Name"] for c in d["PhysicalTableMap"]["athena-table"]["RelationalTable"]["InputColumns"]}
        for table, d in data_sets.items()
    }
    used = [(c["DataSetIdentifier"], c["ColumnName"]) for c in _find(definition["Sheets"], "Column")]
    assert used
    for table, column in used:
        assert column in inputs[table], f"{table}.{column}"
    kinds = [next(iter(v)) for v in definition["Sheets"][0]["Visuals"]]
    assert kinds == ["LineChartVisual", "BarChartVisual", "TableVisual", "TableVisual", "BarChartVisual"]
    # The KPI table shows every measure of the contract (a new KPI appears without a change here).
    tables = [v["TableVisual"] for v in definition["Sheets"][0]["Visuals"] if "TableVisual" in v]
    (kpi_table,) = [v for v in tables if v["VisualId"] == "daily-genre-kpis"]
    shown = [c["ColumnName"] for c in _find(kpi_table["ChartConfiguration"]["FieldWells"], "Column")]
    assert shown == [layout.PARTITION_COLUMN, "genre", *items.KPI_MEASURES]
    for resource_type in QUICKSIGHT_TYPES:
        for resource in synth.resources(resource_type).values():
            assert [p["Principal"] for p in resource["Properties"]["Permissions"]] == [principal]


def test_quicksight_may_query_through_the_workgroup_before_its_data_source_exists(with_optional_parts):
    """QuickSight queries as its service role: the stack attaches the reader policy to it, and the
    data source (which QuickSight validates when it is created) waits for that attachment."""
    synth = with_optional_parts
    reader_id = synth.stack.get_logical_id(synth.stack.analytics.reader_policy.node.default_child)
    reader = synth.template["Resources"][reader_id]
    assert reader["Properties"]["Roles"] == [QUICKSIGHT_SERVICE_ROLE_NAME]
    (source,) = synth.resources("AWS::QuickSight::DataSource").values()
    assert reader_id in source["DependsOn"]


def test_the_quicksight_resources_pass_cfn_lint(with_optional_parts):
    template = with_optional_parts.outdir / f"{with_optional_parts.stack.stack_name}.template.json"
    result = subprocess.run(
        [str(CFN_LINT), "--format", "json", str(template)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode & ~(2 | 4 | 8) == 0, result.stderr
    errors = [
        f"{f['Rule']['Id']}: {f['Message']}"
        for f in json.loads(result.stdout or "[]")
        if f["Level"] == "Error"
    ]
    assert not errors


def _find(node, key):
    """Every value under ``key`` anywhere in a JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _find(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _find(item, key)
