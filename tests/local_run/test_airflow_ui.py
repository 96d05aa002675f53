"""`make airflow`'s first answers: a port in use, a missing Java or a broken DAG is one clear line
(exit code 2), before anything starts. The whole command runs in tests/e2e/test_local_airflow.py."""

from __future__ import annotations

import os
import socket

import pytest

from local_run import airflow_ui
from local_run.airflow_home import airflow_environment


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_port_in_use_is_one_line_naming_the_port_and_the_way_out(capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert airflow_ui.main(["--port", str(port), "--state", str(tmp_path / "state")]) == 2
    line = one_line(capsys)
    assert f"port {port} is in use" in line
    assert "PORT=" in line
    assert not (tmp_path / "state").exists()  # nothing started, nothing written


def test_a_missing_java_is_one_line_saying_how_to_get_it(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(airflow_ui.toolchain, "JAVA_HOME", tmp_path / "no-java")
    monkeypatch.setattr(airflow_ui.toolchain, "use", lambda: None)
    port = str(airflow_ui._free_port())
    assert airflow_ui.main(["--port", port, "--state", str(tmp_path / "state")]) == 2
    line = one_line(capsys)
    assert f"no Java at {tmp_path / 'no-java' / 'bin' / 'java'}" in line
    assert "make venv" in line


def test_a_broken_dag_is_named_with_its_error(tmp_path):
    broken = tmp_path / "broken_dag.py"
    broken.write_text(
        "from airflow.sdk import dag\nimport music_contract\nraise ValueError('bucket_name is empty')\n"
    )
    env = {**os.environ, **airflow_environment(tmp_path / "home", "WARNING")}
    error = airflow_ui.dag_import_error(broken, env)
    assert error is not None
    assert str(broken) in error
    assert "ValueError: bucket_name is empty" in error
    assert "\n" not in error


@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_port_outside_the_range_is_refused(port, capsys):
    with pytest.raises(SystemExit):
        airflow_ui.parse_args(["--port", port])
    assert "not a TCP port" in capsys.readouterr().err


def test_the_components_poll_the_local_glue_run_every_local_poll_second(tmp_path):
    """The one local difference of the Glue wait: the local-only Variable (deployed: 60 s)."""
    from local_run.airflow_home import LIVE_POLL_SECONDS
    from music_contract import names

    env = airflow_ui.airflow_component_environment(tmp_path, 18080)
    assert env[f"AIRFLOW_VAR_{names.VAR_GLUE_POLL_SECONDS.upper()}"] == str(LIVE_POLL_SECONDS)
