"""`make bench`: run every benchmark, print one table, and keep it in BENCHMARKS.md.

BENCHMARKS.md is the table, then the hand-written analysis under its own ``## `` headings: a new
table replaces the old one and keeps the analysis (`benchmarks_page`).

`python -m benchmarks [--quick] [--only glue|dag|e2e]`; --quick runs the smaller sizes only.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.results import BenchResult

# Synth runs first: its memory is measured over child processes, and the e2e suite leaves a Spark
# JVM running in this process for the rest of the run.
SUITES = {
    "synth": "benchmarks.synth",
    "dag": "benchmarks.dag_tasks",
    "glue": "benchmarks.glue_kpis",
    "e2e": "benchmarks.end_to_end",
}
COLUMNS = (
    "what", "size", "time s", "rows/s", "peak MB", "JVM heap after GC MB", "baseline", "baseline s", "ratio",
    "Spark jobs/stages", "DPU-s/M rows",
)  # fmt: skip


def _fmt(value: float | None, pattern: str) -> str:
    return "" if value is None else format(value, pattern)


def table(results: list[BenchResult]) -> str:
    """A Markdown table (it reads well in a terminal too)."""
    rows = [
        (
            r.what, r.size, _fmt(r.seconds, ".2f"), _fmt(r.rows_per_second, ",.0f"), _fmt(r.peak_memory_mb, ",.0f"),
            _fmt(r.heap_after_gc_mb, ",.0f"), r.baseline, _fmt(r.baseline_seconds, ".2f"), _fmt(r.ratio, ".2f"), r.spark_work,
            _fmt(r.dpu_seconds_per_million_rows, ".1f"),
        )
        for r in results
    ]  # fmt: skip
    widths = [max(len(str(c)) for c in col) for col in zip(COLUMNS, *rows, strict=False)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(COLUMNS), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    # One throw-away Airflow for every suite, set before any suite imports airflow.
    from local_run.airflow_home import use_airflow_home

    home = Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    use_airflow_home(home, logging_level="WARNING")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes only")
    parser.add_argument("--only", choices=sorted(SUITES), action="append", help="run only these suites")
    args = parser.parse_args()
    results: list[BenchResult] = []
    for name in args.only or SUITES:
        print(f">> benchmark suite {name}", flush=True)
        module = importlib.import_module(SUITES[name])
        results.extend(module.run(quick=args.quick))
    text = table(results)
    print(text)
    if not args.only:
        page = Path("BENCHMARKS.md")
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        command = f"make bench{' BENCH_ARGS=--quick' if args.quick else ''}"
        previous = page.read_text() if page.exists() else ""
        page.write_text(benchmarks_page(text, f"Latest `{command}` on {machine()}, {stamp}.", previous))


def benchmarks_page(table_text: str, run_line: str, previous: str = "") -> str:
    """BENCHMARKS.md with `table_text`: the title, `run_line`, the table, then the hand-written
    sections of `previous` (everything from its first ``## `` heading on), kept as they were."""
    start = previous.find("\n## ")
    kept = "" if start < 0 else "\n" + previous[start + 1 :].rstrip("\n") + "\n"
    return (
        f"# Benchmarks\n\n{run_line}\n"
        "Ratios are time / baseline time (below 1: faster than the baseline).\n\n" + table_text + "\n" + kept
    )


if __name__ == "__main__":
    main()
