"""infra/analytics.py: the Athena workgroup, the data-quality reports table and the saved queries.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json
import re

import pytest

from infra.analytics import ION_SERDE, SAVED_QUERIES
from infra.config import BYTES_PER_MB, ConfigError, PipelineConfig, cdk_context
from music_contract import layout
from music_contract import tables as contract_tables

# What the saved queries use besides column names (everything else must be a column or an alias).
SQL_WORDS = {"select", "from", "where", "and", "between", "order", "by", "asc", "desc"}
SQL_WORDS |= {"cast", "as", "double", "nullif"}


def test_workgroup_enforces_encrypted_results_in_our_prefix_and_a_scan_limit(each_env):
    workgroup = each_env.only("AWS::Athena::WorkGroup")
    assert workgroup["Name"] == each_env.stack.names.athena_workgroup
    settings = workgroup["WorkGroupConfiguration"]
    assert settings["EnforceWorkGroupConfiguration"] is True
    assert settings["BytesScannedCutoffPerQuery"] == each_env.config.athena_scan_limit_mb * BYTES_PER_MB
    results = settings["ResultConfiguration"]
    bucket_id = each_env.logical_id(each_env.stack.storage.data_bucket)
    assert results["OutputLocation"] == {
        "Fn::Join": ["", ["s3://", {"Ref": bucket_id}, f"/{layout.ATHENA_RESULTS_PREFIX}"]]
    }
    assert results["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_KMS",
        "KmsKey": {"Fn::GetAtt": [each_env.logical_id(each_env.stack.storage.key), "Arn"]},
    }
    # The results prefix expires: results are re-runnable, not data.
    bucket = each_env.template["Resources"][bucket_id]["Properties"]
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-athena-results"]["Prefix"] == layout.ATHENA_RESULTS_PREFIX
    assert rules["expire-athena-results"]["ExpirationInDays"] == layout.ATHENA_RESULTS_EXPIRATION_DAYS


def test_the_data_quality_reports_are_a_table_over_reports(each_env):
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
        for t in each_env.resources("AWS::Glue::Table").values()
    }
    descriptor = tables[contract_tables.DATA_QUALITY_REPORTS_TABLE]["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == list(
        contract_tables.DATA_QUALITY_REPORT_COLUMNS
    )
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == ION_SERDE
    assert f"/{layout.REPORTS_PREFIX}" in json.dumps(descriptor["Location"])


def test_the_reports_table_columns_are_fields_of_the_glue_jobs_report():
    from dataclasses import fields

    from music_contract.quality import DataQualityReport

    written = {field.name for field in fields(DataQualityReport)}
    assert {name for name, _ in contract_tables.DATA_QUALITY_REPORT_COLUMNS} <= written


def _catalog_columns(synth) -> dict[str, set[str]]:
    """Glue table name -> its data and partition columns, from the synthesized template."""
    columns = {}
    for table in synth.resources("AWS::Glue::Table").values():
        table_input = table["Properties"]["TableInput"]
        names = [c["Name"] for c in table_input["StorageDescriptor"]["Columns"]]
        names += [c["Name"] for c in table_input.get("PartitionKeys", [])]
        columns[table_input["Name"]] = set(names)
    return columns


def test_every_saved_query_reads_columns_its_catalog_table_has(each_env):
    catalog = _catalog_columns(each_env)
    saved = [q["Properties"]["Name"] for q in each_env.resources("AWS::Athena::NamedQuery").values()]
    assert sorted(saved) == sorted(q.name for q in SAVED_QUERIES)
    workgroup_id = each_env.stack.get_logical_id(each_env.stack.analytics.workgroup)
    for resource in each_env.resources("AWS::Athena::NamedQuery").values():
        query = resource["Properties"]
        assert query["Database"] == each_env.config.database_name
        assert query["WorkGroup"] == {"Ref": workgroup_id}
        sql = query["QueryString"]
        (table,) = re.findall(r"\bFROM\s+(\w+)", sql, flags=re.IGNORECASE)
        assert table in catalog, f"{query['Name']}: no catalog table {table!r}"
        aliases = {a.lower() for a in re.findall(r"\bAS\s+(\w+)\s*(?=,|$)", sql, flags=re.I | re.M)}
        words = {w.lower() for w in re.findall(r"[A-Za-z_]\w*", sql)} - SQL_WORDS - {table} - aliases
        unknown = sorted(words - catalog[table])
        assert not unknown, f"{query['Name']}: {table} has no column(s) {unknown}"


def test_the_query_check_catches_an_unknown_column(each_env):
    """The check above parses simply; make sure it would fail on a misspelt column."""
    catalog = _catalog_columns(each_env)
    words = {w.lower() for w in re.findall(r"[A-Za-z_]\w*", "SELECT genre, listens FROM top_genres")}
    assert words - SQL_WORDS - {"top_genres"} - catalog["top_genres"] == {"listens"}


def test_a_scan_limit_below_athenas_minimum_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"athena_scan_limit_mb must be at least 10"):
        PipelineConfig.from_context({**cdk_context(), "athena_scan_limit_mb": "9"})


def test_the_reader_policy_is_the_workgroup_the_catalog_our_prefixes_and_the_key_through_s3(each_env):
    from tests.infra.policy_documents import statements

    stack = each_env.stack
    policy = each_env.template["Resources"][
        stack.get_logical_id(stack.analytics.reader_policy.node.default_child)
    ]
    props = policy["Properties"]
    assert props["ManagedPolicyName"] == f"{stack.names.prefix}-analytics-reader"
    by_sid = {s["Sid"]: s for s in statements(props)}
    assert f"workgroup/{stack.names.athena_workgroup}" in json.dumps(
        by_sid["QueryThroughTheWorkGroup"]["Resource"]
    )
    read = json.dumps(by_sid["ReadTablesAndReports"]["Resource"])
    assert f"/{layout.CURATED_PREFIX}*" in read
    assert f"/{layout.REPORTS_PREFIX}*" in read
    written = by_sid["WriteQueryResults"]
    assert "s3:PutObject" in written["Action"]
    assert f"/{layout.ATHENA_RESULTS_PREFIX}*" in json.dumps(written["Resource"])
    # Nothing else of the bucket is writable, and the key only through S3.
    writes = [s for s in statements(props) if "s3:PutObject" in json.dumps(s["Action"])]
    assert writes == [written]
    key = by_sid["UseTheDataKeyThroughS3"]
    assert key["Resource"] == {"Fn::GetAtt": [each_env.logical_id(stack.storage.key), "Arn"]}
    assert "kms:ViaService" in key["Condition"]["StringEquals"]


# What the Ion SerDe reads into each Hive type (github.com/amazon-ion/ion-hive-serde,
# docs/type-mapping.md: Ion int -> BIGINT, Ion float -> DOUBLE, Ion decimal -> DECIMAL, Ion string ->
# STRING, Ion struct -> MAP). A JSON number is an Ion int without '.' or exponent, an Ion float with
# an exponent, an Ion decimal otherwise (Ion's text grammar).
ION_TYPES_BY_HIVE_TYPE = {
    "bigint": "int",
    "double": "float",
    "string": "string",
    "map<string,bigint>": "struct",
}


def _ion_number_type(literal: str) -> str:
    if "e" in literal.lower():
        return "float"
    return "decimal" if "." in literal else "int"


def _ion_type(value) -> str:
    if isinstance(value, dict):
        return "struct"
    if isinstance(value, str) and value.startswith("ion:"):
        return value.removeprefix("ion:")
    return {str: "string", bool: "bool", type(None): "null"}[type(value)]


def test_every_report_field_has_the_ion_type_its_column_reads():
    """The data-quality-over-runs query reads every column of every report: a value whose Ion type the
    column's SerDe reader does not take fails the whole query (a ratio written 0.0123 is a decimal)."""
    from music_contract.quality import STATUS_FAILED, DataQualityReport

    report = DataQualityReport("manual__2026-01-01", "manifests/m.json", 0.05, "2026-01-01T00:00:00Z")
    report.status, report.finished_at, report.error = STATUS_FAILED, "2026-01-01T00:05:00Z", "DataError: x"
    report.rows_read, report.rows_rejected = 100_000, 1  # reject_ratio 1e-05: an Ion float
    report.rows_accepted = report.rows_read - report.rows_rejected
    report.reject_ratio = report.rows_rejected / report.rows_read
    report.rejected_by_reason = {reason: 1 for reason in report.rejected_by_reason}
    report.duplicates_dropped, report.unknown_user_rows, report.kpi_items_written = 3, 2, 40
    other = DataQualityReport("manual__2026-01-02", "manifests/n.json", 0.05, "2026-01-02T00:00:00Z")
    other.rows_read, other.rows_rejected, other.reject_ratio = 81, 1, 1 / 81  # 0.0123...: an Ion decimal
    for written in (report, other):
        text = written.to_json()
        body = json.loads(
            text, parse_int=lambda s: "ion:int", parse_float=lambda s: f"ion:{_ion_number_type(s)}"
        )
        for name, hive_type in contract_tables.DATA_QUALITY_REPORT_COLUMNS:
            if name not in body:  # an absent field reads as NULL
                continue
            value = body[name]
            assert _ion_type(value) == ION_TYPES_BY_HIVE_TYPE[hive_type], (name, hive_type, text)
            if hive_type.startswith("map<"):
                assert {_ion_type(v) for v in value.values()} == {"int"}, (name, value)


def test_the_reader_can_use_the_saved_queries_in_the_athena_console(each_env):
    """The console lists workgroups and data sources, browses the catalog's databases and tables, and
    opens on the `default` database: each call allowed, on nothing wider than the service allows."""
    from tests.infra.policy_documents import (
        ACTIONS_WITHOUT_RESOURCE_TYPES,
        as_list,
        assert_no_wildcard_actions,
        statements,
    )

    stack = each_env.stack
    props = each_env.template["Resources"][
        stack.get_logical_id(stack.analytics.reader_policy.node.default_child)
    ]["Properties"]
    assert_no_wildcard_actions(props)  # "*" only for actions without a resource type

    def resources_for(action: str) -> list[str]:
        return [
            render_arn(r)
            for s in statements(props)
            if action in as_list(s["Action"])
            for r in as_list(s["Resource"])
        ]

    for action in ("athena:ListWorkGroups", "athena:ListDataCatalogs"):
        assert action in ACTIONS_WITHOUT_RESOURCE_TYPES
        assert resources_for(action) == ["*"], action
    catalog = "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:datacatalog/AwsDataCatalog"
    for action in (
        "athena:ListDatabases",
        "athena:GetDatabase",
        "athena:ListTableMetadata",
        "athena:GetTableMetadata",
    ):
        assert resources_for(action) == [catalog], action
    glue = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
    for action in ("glue:GetDatabase", "glue:GetDatabases"):
        assert {
            f"{glue}:catalog",
            f"{glue}:database/default",
            f"{glue}:database/{each_env.config.database_name}",
        } <= set(resources_for(action)), action


def render_arn(value) -> str:
    """An ARN of the template (a string or an Fn::Join of strings and pseudo parameters)."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    return separator.join(p if isinstance(p, str) else f"${{{p['Ref']}}}" for p in parts)
