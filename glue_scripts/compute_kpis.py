"""Glue job: daily genre KPIs from the run's stream files (docs/DESIGN.md, "Glue job contract").

Runs unchanged on Glue 5.1 (which ships `music_kpis` and `music_contract` in `--extra-py-files`,
infra/packaging.py) and locally as `python glue_scripts/compute_kpis.py --data_bucket ... [--data_root
file:///...]` (both packages from .venv's editable install), on local Spark unless spark-submit or Glue
set the master. The local demo calls `music_kpis.job.run_job` in-process; `music_kpis.entry` holds the
command line's logic.
"""

import sys

from music_kpis.entry import main

if __name__ == "__main__":
    sys.exit(main())
