"""The processes `make airflow` starts, and their stopping: each Airflow component the leader of its
own process group (SIGTERM, then SIGKILL after a grace period), Spark's JVM, and a last sweep for
anything still carrying the command's ``AIRFLOW_HOME``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

STOP_GRACE_SECONDS = 30


@dataclass
class Components:
    """Airflow's processes, each the leader of its own process group."""

    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group: Ctrl-C reaches us, and we stop the whole group
            )  # fmt: skip

    def exited(self) -> dict[str, int]:
        return {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> list[str]:
        """SIGTERM every group, SIGKILL what is left after the grace period; the groups that had to be
        killed. Every process of every group is gone when this returns."""
        for process in self.processes.values():
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        killed = []
        for name, process in self.processes.items():
            while _group_alive(process.pid) and time.monotonic() < deadline:
                process.poll()  # reap the leader, so the group empties
                time.sleep(0.2)
            if _group_alive(process.pid):
                killed.append(name)
                _signal_group(process.pid, signal.SIGKILL)
            process.wait()
            while _group_alive(process.pid):
                time.sleep(0.1)
        return killed


def stop_spark(spark) -> None:
    """Stop the Spark session and wait for its JVM, which exits when its stdin closes (pyspark's
    java_gateway) a moment after the session stops. Ctrl-C reaches the JVM too (our process group):
    it may be gone already."""
    from pyspark import SparkContext

    jvm = getattr(SparkContext._gateway, "proc", None)
    with contextlib.suppress(Exception):
        spark.stop()
    if jvm is None:
        return
    with contextlib.suppress(Exception):
        jvm.stdin.close()
    try:
        jvm.wait(timeout=30)
    except subprocess.TimeoutExpired:
        jvm.kill()
        jvm.wait()


def _processes_with_home(home: Path) -> list[int]:
    """Processes other than this one whose environment has ``AIRFLOW_HOME=<home>``: everything this
    command started carries it (the components, their task processes, Spark's JVM and workers)."""
    marker = f"AIRFLOW_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_for_leftovers(home: Path, seconds: float = 15) -> list[str]:
    """Wait for the processes this command started to be gone; SIGKILL and name any still there."""
    deadline = time.monotonic() + seconds
    while (left := _processes_with_home(home)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return [str(pid) for pid in left]


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` is left (a zombie leader not yet reaped counts as gone)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
