"""Java and Node come from .venv, never from the system: the Makefile and toolchain.py agree, and
Spark, jsii and the CDK CLI's `#!/usr/bin/env node` really run on them."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psutil
import pytest

import toolchain

REPO_ROOT = Path(__file__).resolve().parents[1]
PINNED_NODE = (toolchain.NODE_BIN / "node").resolve()


def _make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "--no-print-directory", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:  # exited, or a zombie other tests' children left: not a running jsii
        return []


def test_make_exports_the_runtimes_toolchain_sets():
    # What the shell had before make must not decide: make sets them from .venv itself.
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "JSII_NODE")}
    result = _make("runtimes", env=env)
    assert result.returncode == 0, result.stderr
    shown = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert Path(shown["JAVA_HOME"]).resolve() == toolchain.JAVA_HOME.resolve()
    assert Path(shown["JSII_NODE"]).resolve() == PINNED_NODE
    assert 'version "17.' in result.stdout
    assert "node: v22." in result.stdout


def test_the_pinned_runtimes_come_first_and_nothing_else_changes():
    base = {"PATH": f"/usr/bin:{toolchain.NODE_BIN}:/bin", "HOME": "/home/someone"}
    env = toolchain.environ(base)
    assert env["PATH"].split(os.pathsep) == [
        str(toolchain.NODE_BIN), str(toolchain.JAVA_HOME / "bin"), "/usr/bin", "/bin",
    ]  # fmt: skip
    assert (env["JAVA_HOME"], env["JSII_NODE"]) == (
        str(toolchain.JAVA_HOME),
        str(toolchain.NODE_BIN / "node"),
    )
    assert env["HOME"] == "/home/someone"
    assert base["PATH"] == f"/usr/bin:{toolchain.NODE_BIN}:/bin"  # the caller's mapping is left alone


def test_env_node_finds_the_pinned_node_before_the_systems():
    """The CDK CLI is a `#!/usr/bin/env node` script: `node` on PATH is what runs it."""
    env = toolchain.environ({"PATH": "/usr/local/bin:/usr/bin:/bin"})
    result = subprocess.run(
        ["/usr/bin/env", "node", "-p", "process.execPath + ' ' + process.version"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    exec_path, version = result.stdout.split()
    assert Path(exec_path).resolve() == PINNED_NODE
    assert version.startswith("v22.")


def test_spark_runs_on_the_pinned_java_17(spark):
    system = spark.sparkContext._jvm.java.lang.System
    assert Path(system.getProperty("java.home")).resolve() == toolchain.JAVA_HOME.resolve()
    assert system.getProperty("java.version").startswith("17.")


def test_jsii_runs_on_the_pinned_node():
    import aws_cdk  # noqa: F401  (loading the CDK's assembly starts jsii's Node process)

    runtimes = [
        child
        for child in psutil.Process().children(recursive=True)
        if any(arg.endswith("jsii-runtime.js") for arg in _cmdline(child))
    ]
    assert runtimes, "no jsii runtime process found"
    assert {Path(child.exe()).resolve() for child in runtimes} == {PINNED_NODE}


@pytest.mark.parametrize(
    ("fake_python", "message"),
    [
        (None, r"missing: .*python3\.11\. Install Python 3\.11"),
        ("#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.12.1'; exit 1\n", r"is not Python 3\.11 but Python 3\.12\.1\. Install Python 3\.11"),
    ],
    ids=["missing", "wrong-version"],
)  # fmt: skip
def test_check_tools_says_what_to_do_without_python_3_11(tmp_path, fake_python, message):
    python = tmp_path / "python3.11"
    if fake_python is not None:
        python.write_text(fake_python)
        python.chmod(0o755)
    result = _make("check-tools", f"PYTHON={python}")
    assert result.returncode != 0
    assert re.search(message, result.stderr), result.stderr
    assert "make PYTHON=/path/to/python3.11" in result.stderr
