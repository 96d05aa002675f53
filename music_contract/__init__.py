"""The shared contract: the one place that says where data lives and what it looks like.

The DAG, the Glue job, the CDK stack, the local run and the tests import these names instead of
repeating them; docs/DESIGN.md is the prose version. Plain Python (no Airflow, Spark or AWS imports),
so MWAA loads it from the DAG folder and Glue from the ``--extra-py-files`` zip (infra/packaging.py).

Import the submodule by name and read its names through it; classes come from their submodule::

    from music_contract import layout, names
    from music_contract.manifest import Manifest

    layout.manifest_key(run_id), names.ARG_RUN_ID

This package re-exports nothing: a new name is one edit, in its submodule.

- `names`: the DAG id, the Airflow Variables and connection, the Glue job's arguments and defaults.
- `layout`: the data bucket's prefixes and their lifecycles, the source files' columns, the run id
  rule and the keys derived from it (manifest, report, staging, quarantine, archive).
- `manifest`: `Manifest` and `StreamObject`, the exact stream objects one run processes.
- `tables`: the curated tables (`CURATED_TABLES`, `CuratedTable`), the data-quality reports table
  and the reject reasons.
- `items`: the DynamoDB KPI items: keys, record types, attributes, the KPI measures, the current view.
- `quality`: the data-quality report of one Glue run (`DataQualityReport`, `FileQuality`).
- `metrics`: the pipeline's CloudWatch metrics, the smoke-test date, the Glue run's console link.
- `reprocess`: the recompute and replay run params and the rules their dates follow.
- `alerts`: the one Chatbot notification shape of every failure alert.
"""
