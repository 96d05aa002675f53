"""The Glue KPI job's code, shipped to Glue beside `compute_kpis.py` (as a zip in `--extra-py-files`).

- `session`: the local Spark session (tests, demo, benchmark); Glue brings its own.
- `io`: everything that touches storage through Spark: CSV sources, manifest, Parquet, reports.
- `transforms`: pure DataFrame-in/DataFrame-out functions (validation, de-duplication, KPIs).
- `dynamo`: the KPI items and their batched writes to DynamoDB.
- `job`: the run, wiring the three together in the order that keeps a failed run unpublished.
"""
