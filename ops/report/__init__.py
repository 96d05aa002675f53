"""The KPI report: `python -m ops.report` (make report) and the demo's out/demo/report.html.

model.py turns KPI items, data-quality reports and archived keys into a view model; render.py writes
it as one self-contained HTML page, text.py as the demo's terminal summary; sources.py reads the data
from the KPI table and the data bucket.
"""
