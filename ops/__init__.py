"""Tooling that works on a deployed environment: trigger a run, render the KPI report (the demo's
emulated run reuses the report; the local run itself lives in local_run/)."""
