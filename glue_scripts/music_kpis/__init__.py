"""The Glue KPI job's code, shipped to Glue beside `compute_kpis.py` (as a zip in `--extra-py-files`).

- `entry`: the command line's `main`; `arguments`: the job's arguments, parsed alike on Glue and locally.
- `job`: the run, wiring the steps in the order that keeps a failed run unpublished, and its report.
- `steps`: the named steps, each returning what it counted; `rules`: the reject ratio, the source id.
- `transforms`: pure DataFrame-in/DataFrame-out functions (validation, de-duplication, KPIs).
- `datasets`: everything that touches storage through Spark: CSV sources, manifest, Parquet, reports.
- `publication`, `line_numbers`, `dynamo` (the KPI items and their writes), `session` (local Spark).
"""
