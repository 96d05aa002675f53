"""`make demo`: the whole pipeline on this machine, no AWS account needed.

1. starts an embedded AWS (moto server) and creates the stack's resources in it (names from cdk.json);
2. generates Spotify-style input (or takes yours with --data) and uploads it to the emulated bucket;
3. runs the production DAG with real Airflow (`dag.test()`); its Glue step runs the real Glue
   script on local Spark;
4. a second batch for an already processed day arrives and a second run processes it: that day's
   KPIs are updated, not double counted;
5. prints the KPIs and writes out/demo/kpi_items.json, out/demo/input/ and out/demo/report.html.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import toolchain

OUT_DIR = Path("out/demo")


def _progress(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo DEMO_ARGS=...", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3, help="days the generated events cover (default 3)")
    parser.add_argument(
        "--streams", type=int, default=20_000, help="stream rows in the first batch (default 20000)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generated data (default 7)")
    parser.add_argument(
        "--data",
        type=Path,
        help="run on your own files instead: a folder in the bucket layout "
        "(reference_data/users/users.csv, reference_data/songs/songs.csv, raw_data/**/*.csv)",
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default out/demo)")
    parser.add_argument(
        "--orchestration",
        choices=("provisioned", "serverless"),
        default="provisioned",
        help="run the provisioned DAG file, or the MWAA Serverless YAML through dag-factory with the task "
        "code from the built code package (default provisioned)",
    )
    args = parser.parse_args(argv)
    if args.days < 1 or args.streams < 1:
        parser.error("--days and --streams must be at least 1")
    return args


def _user_files(data: Path) -> list[str]:
    """Keys of the user's files in the bucket layout; a clear error when the layout is not there."""
    from music_contract import layout

    missing = [key for key in (layout.USERS_KEY, layout.SONGS_KEY) if not (data / key).is_file()]
    if missing:
        raise SystemExit(f"--data {data}: missing {', '.join(missing)} (expected the bucket layout)")
    keys = sorted(p.relative_to(data).as_posix() for p in (data / "raw_data").rglob("*") if p.is_file())
    streams = [k for k in keys if layout.is_stream_key(k)]
    if not streams:
        raise SystemExit(f"--data {data}: no stream files under raw_data/ (*.csv)")
    return [layout.USERS_KEY, layout.SONGS_KEY, *streams]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    toolchain.use()  # local Spark runs on the pinned Java 17, also outside make
    out: Path = args.out
    shutil.rmtree(out, ignore_errors=True)
    _prepare_airflow(out)

    from local_run.emulator import running_emulator
    from local_run.glue_script_runner import GlueScriptRunner
    from local_run.pipeline import LocalPipeline
    from local_run.resources import create_local_stack, received_alerts
    from music_kpis.session import local_spark_session

    with running_emulator() as emulator:
        _progress(f"embedded AWS (moto server) at {emulator.endpoint_url}")
        stack = create_local_stack(emulator)
        names = stack.names
        _progress(
            f"created bucket {names.data_bucket}, table {names.kpi_table}, Glue job {names.glue_job}, "
            f"topic {names.alert_topic}"
        )
        input_dir = out / "input"
        keys, dataset = stage_input(args, input_dir)
        runner = GlueScriptRunner(local_spark_session, work_dir=out / "glue-runs")
        if args.orchestration == "serverless":
            from local_run.serverless_run import ServerlessLocalPipeline

            pipeline = ServerlessLocalPipeline(stack, runner, work_dir=out / "serverless")
            _progress(f"MWAA Serverless workflow {pipeline.yaml_file}, code package {pipeline.code_dir}/")
        else:
            pipeline = LocalPipeline(stack, runner)
        pipeline.upload(input_dir, keys)
        _progress(f"uploaded {len(keys)} file(s) to s3://{names.data_bucket}/")

        _progress(
            "run 1: triggering music_streaming_pipeline_dynamo (validate -> Glue on local Spark -> archive)"
        )
        outcomes = [pipeline.run()]
        _report_run(outcomes[-1], received_alerts(stack))
        if dataset is not None and outcomes[-1].succeeded:
            outcomes.append(_late_batch_run(pipeline, dataset, args, input_dir))
        count = write_report(out, stack.names.kpi_table, stack.names.data_bucket)
        _progress(f"wrote {out / 'kpi_items.json'} ({count} items), {out / 'report.html'}, {out / 'input'}/")
        return 0 if all(o.succeeded for o in outcomes) else 1


def _prepare_airflow(out: Path) -> None:
    """A throw-away Airflow home and metadata DB under `out`; quiet library loggers.

    Airflow reads its settings at import: this runs before anything imports airflow.
    """
    from local_run.airflow_home import reset_metadata_db, use_airflow_home

    use_airflow_home(out / "airflow", logging_level=os.environ.get("DEMO_LOG_LEVEL", "WARNING"))
    _progress("preparing a throw-away Airflow metadata database")
    reset_metadata_db()
    # Progress lines and the summary are the demo's output; library chatter is for the logs.
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("airflow", "botocore", "py4j", "alembic", "music_kpis"):
        logging.getLogger(name).setLevel(logging.WARNING)


def stage_input(args: argparse.Namespace, input_dir: Path):
    """The files to upload into `input_dir` (the user's, or generated) and their keys; the generated
    dataset too (None for the user's files)."""
    from local_run.generate import generate_dataset

    if args.data:
        keys = _user_files(args.data)
        for key in keys:
            (input_dir / key).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.data / key, input_dir / key)
        _progress(f"using {len(keys) - 2} stream file(s) from {args.data}")
        return keys, None
    dataset = generate_dataset(input_dir, days=args.days, streams=args.streams, seed=args.seed)
    _progress(
        f"generated {dataset.stream_rows} stream rows in {len(dataset.stream_keys)} file(s), seed {args.seed}"
    )
    return list(dataset.keys), dataset


def _late_batch_run(pipeline, dataset, args: argparse.Namespace, input_dir: Path):
    """Run 2: a late batch for an already processed day; the day is recomputed, not added twice."""
    from local_run.generate import add_stream_batches
    from local_run.resources import read_kpi_items, received_alerts

    stack = pipeline.stack
    day = date(2026, 11, 20) + timedelta(days=min(1, args.days - 1))
    before = _day_listens(read_kpi_items(stack), day.isoformat())
    new_keys = add_stream_batches(
        dataset, dates=[day], streams=max(1, args.streams // 5), files=1,
        first_index=len(dataset.stream_keys) + 1, seed=args.seed + 100,
    )  # fmt: skip
    pipeline.upload(input_dir, new_keys)
    _progress(f"run 2: a late batch for {day} arrived ({new_keys[0]}); triggering again")
    outcome = pipeline.run()
    _report_run(outcome, received_alerts(stack))
    after = _day_listens(read_kpi_items(stack), day.isoformat())
    _progress(f"{day}: listens {before} before run 2, {after} after (the day recomputed, not added twice)")
    return outcome


def write_report(out: Path, table: str, bucket: str) -> int:
    """Print the KPI summary; write every KPI item (out/kpi_items.json) and the report (out/report.html).

    The report reads what `make report` reads on AWS: the table, reports/ and archived_data/.
    Returns the number of KPI items.
    """
    from ops.report import model, render, sources, text

    source = sources.ReportSource(table=table, bucket=bucket)
    data = sources.read_report_data(source)
    view = model.build_view(
        data.items,
        data.quality_reports,
        data.archived_keys,
        title="Music streaming KPIs · demo",
        source=f"moto server: {source.describe()}",
    )
    print(text.render_text(view), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    ordered = sorted(data.items, key=lambda item: (item["pk"], item["sk"]))
    items_json = json.dumps([model.plain(i) for i in ordered], indent=2, sort_keys=True)
    (out / "kpi_items.json").write_text(items_json + "\n")
    render.write_html(out / "report.html", view)
    return len(data.items)


def _day_listens(items: list[dict], day: str) -> int:
    from music_contract import items as contract_items

    return sum(
        int(i["listen_count"])
        for i in items
        if i["record_type"] == contract_items.RECORD_DAILY_GENRE_KPI and i["date"] == day
    )


def _report_run(outcome, alerts: list[str]) -> None:
    from ops.report.model import run_quality
    from ops.report.text import quality_line

    tasks = ", ".join(f"{task}={state}" for task, state in outcome.task_states.items())
    _progress(f"run {outcome.run_id}: {outcome.state} ({tasks})")
    if outcome.quality_report:
        _progress(f"  data quality: {quality_line(run_quality(outcome.quality_report))}")
    _progress(f"  archived {len(outcome.archived_keys)} raw file(s)")
    for alert in alerts:
        _progress(f"  ALERT published: {alert}")


if __name__ == "__main__":
    sys.exit(main())
