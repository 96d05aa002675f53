"""infra/catalog.py: the Glue database and the curated tables.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json

from infra.catalog import PROJECTION_START_DATE
from music_contract import layout
from music_contract import names as contract_names
from music_contract import tables as contract_tables


def test_curated_tables_follow_the_contract_with_partition_projection(each_env):
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]
        for t in each_env.resources("AWS::Glue::Table").values()
    }
    # The data-quality reports table is infra/analytics.py's (tests/infra/test_analytics.py).
    assert set(tables) == {*contract_tables.CURATED_TABLES, contract_tables.DATA_QUALITY_REPORTS_TABLE}
    for name, curated in contract_tables.CURATED_TABLES.items():
        props = tables[name]
        assert props["DatabaseName"] == each_env.config.database_name
        table_input = props["TableInput"]
        columns = [(c["Name"], c["Type"]) for c in table_input["StorageDescriptor"]["Columns"]]
        assert columns == list(curated.columns)
        assert table_input["PartitionKeys"] == [{"Name": layout.PARTITION_COLUMN, "Type": "string"}]
        parameters = table_input["Parameters"]
        assert parameters["projection.enabled"] == "true"
        assert parameters["projection.listen_date.type"] == "date"
        assert parameters["projection.listen_date.format"] == "yyyy-MM-dd"
        assert parameters["projection.listen_date.range"] == f"{PROJECTION_START_DATE},NOW"
        template = json.dumps(parameters["storage.location.template"])
        assert f"/{curated.prefix}listen_date=${{listen_date}}/" in template
        assert "ParquetHiveSerDe" in table_input["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    database = each_env.only("AWS::Glue::Database")
    assert database["DatabaseInput"]["Name"] == each_env.config.database_name


def test_prod_keeps_the_seed_database_name_and_every_other_environment_has_its_own(synthesized):
    names = {env: s.only("AWS::Glue::Database")["DatabaseInput"]["Name"] for env, s in synthesized.items()}
    assert names["prod"] == contract_names.DEFAULT_DATABASE_NAME
    assert names["dev"] == f"{contract_names.DEFAULT_DATABASE_NAME}_dev"
    assert len(set(names.values())) == len(names)
