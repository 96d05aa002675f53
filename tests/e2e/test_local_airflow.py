"""`make airflow` and `make smoke`, as people use them: the real Airflow UI in headless Chromium, and
the smoke test against the emulated stack that `make airflow` serves.

One local Airflow for the module (it takes a minute to start), used in order: smoke refuses while
the sample batch waits; the DAG is triggered from the UI's form and runs its four tasks to success
with a task log readable in the page, and again with a param (`recompute_dates`); smoke then
passes and leaves the bucket and table as it found them; the serverless workflow (its YAML through
dag-factory) is listed beside the DAG and runs from the API; Ctrl-C stops every process and frees
every port. Screenshots: out/airflow-screenshots/. (`make smoke` in serverless mode:
tests/e2e/test_serverless_e2e.py.)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from music_contract import layout, names, reprocess
from ops import smoke
from ops.airflow_rest import AirflowRestDagRuns
from tests.browser import Browser, chromium_path

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE = REPO_ROOT / "out" / "airflow-e2e"
SCREENSHOTS = REPO_ROOT / "out" / "airflow-screenshots"
TASKS = ("validate_data_files", "validate_columns", "run_etl_job", "archive_raw_data")
START_TIMEOUT = 600
RUN_TIMEOUT = 900


@dataclass
class LocalAirflow:
    process: subprocess.Popen
    base_url: str
    endpoint_url: str
    region: str
    port: int
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _processes_of(home: Path) -> list[str]:
    """Processes (of this user) whose environment names `home` as AIRFLOW_HOME: all the command started."""
    marker = f"AIRFLOW_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry.name} {command}")
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def local_airflow():
    chromium_path()  # skip (or fail under CI) before starting anything
    port = _free_port()
    log = STATE.parent / "airflow-e2e.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    # The command's own environment: none of this test session's Airflow or AWS settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    command = [
        sys.executable, "-m", "local_run.airflow_ui", "--port", str(port), "--state", str(STATE), "--reset",
        "--days", "1", "--streams", "2000",
    ]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT
    while "ready in" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(120)
            pytest.fail(f"make airflow did not get ready:\n{log.read_text()[-3000:]}")
        time.sleep(1)
    where = json.loads((STATE / "emulator.json").read_text())
    yield LocalAirflow(process, where["ui"], where["endpoint_url"], where["region"], port, log)
    if process.poll() is None:  # a test failed before the Ctrl-C test
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def emulated_aws(local_airflow, monkeypatch) -> boto3.session.Session:
    """A boto3 session on `make airflow`'s emulator, as an operator's would be on their account."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_airflow.endpoint_url)
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    return boto3.session.Session(region_name=local_airflow.region)


def _smoke(local_airflow, session, *extra) -> int:
    argv = ["--airflow-url", local_airflow.base_url, "--poll-seconds", "3", "--timeout-minutes", "20", *extra]
    return smoke.main(argv, session=session)


def test_smoke_refuses_while_raw_files_wait(local_airflow, emulated_aws, capsys):
    assert _smoke(local_airflow, emulated_aws) == 2
    err = capsys.readouterr().err
    assert "refused:" in err
    assert "raw file(s) wait" in err
    # Nothing written: the sample batch still waits, alone.
    keys = smoke.keys_under(emulated_aws.client("s3"), _bucket(emulated_aws), layout.RAW_PREFIX)
    assert keys
    assert not [k for k in keys if k.startswith(smoke.SMOKE_PREFIX)]


def _bucket(session) -> str:
    return smoke.Deployment.from_stack(session.client("cloudformation"), "MusicStreams-dev", "dev").bucket


# The trigger form: the dialog titled "Trigger Dag" (the page has other, hidden, dialogs).
FORM = "[...document.querySelectorAll('[role=dialog]')].find(d => d.innerText.includes('Trigger Dag'))"


def _click_button(page: Browser, text: str, within: str = "document.body") -> None:
    """Click the enabled button labelled `text` inside the element `within` (a JS expression)."""
    button = f"[...(({within}) || document.createElement('i')).querySelectorAll('button')].find(b => b.innerText.trim() === {text!r} && !b.disabled)"
    page.wait_for(f"!!({button})", what=f"an enabled button {text!r}")
    page.evaluate(f"({button}).click()")


def test_trigger_from_the_ui_form_runs_the_four_tasks_with_readable_logs(local_airflow):
    dag_url = f"{local_airflow.base_url}/dags/{names.DAG_ID}"
    api = AirflowRestDagRuns(local_airflow.base_url)
    assert api.call("GET", f"/dags/{names.DAG_ID}")["is_paused"] is False
    with Browser() as page:
        page.open(dag_url)
        _click_button(page, "Trigger")
        page.wait_for(f"!!({FORM})", what="the trigger form")
        page.wait_for(f"({FORM}).innerText.includes('recompute_dates')", what="the DAG's params in the form")
        page.screenshot(SCREENSHOTS / "01-trigger-form.png")
        _click_button(page, "Trigger", within=FORM)
        page.wait_for(f"!({FORM})", what="the form to close", timeout=60)

        deadline = time.monotonic() + 60
        runs: list = []
        while not runs and time.monotonic() < deadline:
            runs = api.call("GET", f"/dags/{names.DAG_ID}/dagRuns", query={"order_by": "-run_after"})[
                "dag_runs"
            ]
            time.sleep(1)
        assert runs, "the form's Trigger started no run"
        run_id = runs[0]["dag_run_id"]
        assert runs[0]["run_type"] == "manual"
        state = api.follow(run_id, poll_seconds=3, timeout_seconds=RUN_TIMEOUT)
        tasks = api.task_states(run_id)
        assert state == "success", tasks
        assert tasks == dict.fromkeys(TASKS, "success")

        run_url = f"{dag_url}/runs/{urllib.parse.quote(run_id, safe='')}"
        page.open(run_url)
        page.wait_for("document.body.innerText.includes('archive_raw_data')", what="the run's tasks")
        page.screenshot(SCREENSHOTS / "02-run-succeeded.png")

        page.open(f"{run_url}/tasks/validate_data_files")
        page.wait_for(
            "document.body.innerText.includes('Manifest s3://')",
            what="the task's log line in the page",
            timeout=90,
        )
        page.screenshot(SCREENSHOTS / "03-task-log.png")
        page.open(f"{run_url}/tasks/run_etl_job")
        page.wait_for("document.body.innerText.includes('Glue')", what="run_etl_job's log", timeout=90)
        page.screenshot(SCREENSHOTS / "04-glue-task-log.png")
    for name in ("01-trigger-form", "02-run-succeeded", "03-task-log", "04-glue-task-log"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000


def _latest_run(api: AirflowRestDagRuns, after: set[str], timeout: float = 60) -> dict:
    """The newest run not in `after` (the one the form just started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = api.call("GET", f"/dags/{names.DAG_ID}/dagRuns", query={"order_by": "-run_after"})["dag_runs"]
        fresh = [run for run in runs if run["dag_run_id"] not in after]
        if fresh:
            return fresh[0]
        time.sleep(1)
    raise AssertionError("the form's Trigger started no run")


def test_trigger_with_params_from_the_form_recomputes_a_day(local_airflow):
    api = AirflowRestDagRuns(local_airflow.base_url)
    known = {r["dag_run_id"] for r in api.call("GET", f"/dags/{names.DAG_ID}/dagRuns")["dag_runs"]}
    day = "2026-11-20"  # the sample batch's first day, processed by the run before
    textarea = f"[...({FORM}).querySelectorAll('textarea')].find(t => t.placeholder.includes('each string'))"
    with Browser() as page:
        page.open(f"{local_airflow.base_url}/dags/{names.DAG_ID}")
        _click_button(page, "Trigger")
        page.wait_for(f"!!({FORM}) && !!({textarea})", what="the recompute_dates field")
        # Type into the field as React sees typing: the native setter, then an input event.
        page.evaluate(
            f"(() => {{ const t = {textarea}; "
            "Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(t, "
            f"{day!r}); t.dispatchEvent(new Event('input', {{bubbles: true}})); }})()"
        )
        page.screenshot(SCREENSHOTS / "05-trigger-form-with-params.png")
        _click_button(page, "Trigger", within=FORM)
        page.wait_for(f"!({FORM})", what="the form to close", timeout=60)
    run = _latest_run(api, known)
    assert run["conf"][reprocess.PARAM_RECOMPUTE_DATES] == [day]
    assert api.follow(run["dag_run_id"], poll_seconds=3, timeout_seconds=RUN_TIMEOUT) == "success"
    assert set(api.task_states(run["dag_run_id"]).values()) == {"success"}


def _everything(session) -> tuple[list[str], list[tuple[str, str]]]:
    """Every key of the data bucket and every (pk, sk) of the KPI table."""
    deployment = smoke.Deployment.from_stack(session.client("cloudformation"), "MusicStreams-dev", "dev")
    keys = smoke.keys_under(session.client("s3"), deployment.bucket, "")
    items = session.resource("dynamodb").Table(deployment.table).scan()["Items"]
    return keys, sorted((i["pk"], i["sk"]) for i in items)


def test_smoke_passes_and_leaves_the_bucket_and_table_as_it_found_them(local_airflow, emulated_aws, capsys):
    before = _everything(emulated_aws)
    assert not [k for k in before[0] if k.startswith(layout.RAW_PREFIX)], "the UI run left raw files"
    assert _smoke(local_airflow, emulated_aws) == 0
    out = capsys.readouterr().out
    (STATE.parent / "smoke-local.txt").write_text(out)
    for step in ("stack outputs", "write batch", "trigger", "follow", "KPI items", "archived",
                 "data-quality report", "no freshness datum", "cleanup"):  # fmt: skip
        assert any(line.startswith(step) and " PASS " in line for line in out.splitlines()), (step, out)
    assert "PASSED" in out
    assert _everything(emulated_aws) == before


def test_the_serverless_workflow_is_listed_beside_the_dag_and_runs(local_airflow):
    serverless_id = names.DAG_ID + "_serverless"
    api = AirflowRestDagRuns(local_airflow.base_url, dag_id=serverless_id)
    deadline, listed = time.monotonic() + 120, {}
    while serverless_id not in listed and time.monotonic() < deadline:  # parsed after the DAG, maybe
        listed = {d["dag_id"]: d for d in api.call("GET", "/dags")["dags"]}
        time.sleep(1)
    assert {names.DAG_ID, serverless_id} <= listed.keys(), (
        listed.keys(),
        local_airflow.log.read_text()[-2000:],
    )
    assert listed[serverless_id]["is_paused"] is False
    assert listed[serverless_id]["bundle_name"] == "serverless-workflow"
    run_id = api.trigger({}, f"manual__serverless-{time.time_ns()}")
    assert api.follow(run_id, poll_seconds=3, timeout_seconds=RUN_TIMEOUT) == "success"
    # No raw file waits (the runs before processed the batch): the workflow validates and skips the rest.
    tasks = api.task_states(run_id)
    assert set(tasks) == set(TASKS)
    assert tasks["validate_data_files"] in ("success", "skipped")


def test_ctrl_c_stops_every_process_and_frees_every_port(local_airflow):
    emulator_port = urllib.parse.urlsplit(local_airflow.endpoint_url).port
    assert _processes_of(STATE / "home")
    os.killpg(local_airflow.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    assert local_airflow.process.wait(timeout=120) == 0
    assert "nothing left running" in local_airflow.log.read_text()
    assert _processes_of(STATE / "home") == []
    assert not _port_listening(local_airflow.port)
    assert not _port_listening(emulator_port)
