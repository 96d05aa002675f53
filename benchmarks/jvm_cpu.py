"""Where a Spark run's CPU went, by JVM thread: compiling code, running tasks, collecting garbage.

Every Glue run starts cold JVMs, so a run pays for compiling the code it runs: HotSpot's JIT
compiler threads (C1 and C2) compile each method that gets hot, Spark's generated classes and
the libraries it calls (Janino, Java serialization, Parquet) among them. On a small run that is
as much CPU as the tasks themselves; a breakdown by thread shows it, where the total cannot.

Read from Linux's ``/proc/<pid>/task/<tid>/{comm,stat}`` (a thread's name is cut at 15
characters); elsewhere the breakdown is empty. The time of a thread that ended before the run did
is not in a kind of its own: it counts under "driver and other", with the Python driver's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import psutil

# Thread name prefixes of each kind (HotSpot's and Spark's names, as /proc cuts them).
KINDS = {
    "JIT compiler": ("C1 CompilerThre", "C2 CompilerThre"),
    "tasks": ("Executor task l",),
    "GC": ("GC Thread", "G1 ", "VM Thread"),
}
OTHER = "driver and other"

ThreadCpu = dict[tuple[int, int], tuple[str, float]]  # (pid, tid) -> (name, CPU seconds so far)


def _thread_cpu(pid: int) -> ThreadCpu:
    found: ThreadCpu = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended while we read
            continue
        found[(pid, int(task.name))] = (name, (int(fields[11]) + int(fields[12])) / tick)  # utime + stime
    return found


def jvm_thread_cpu() -> ThreadCpu:
    """CPU seconds so far of every thread of the Java processes among this process's children."""
    found: ThreadCpu = {}
    if not Path("/proc/self/task").exists():
        return found
    for child in psutil.Process().children(recursive=True):
        try:
            if "java" in child.name():
                found.update(_thread_cpu(child.pid))
        except (psutil.Error, OSError):
            continue
    return found


def kind_of(thread_name: str) -> str:
    return next((kind for kind, prefixes in KINDS.items() if thread_name.startswith(prefixes)), OTHER)


def cpu_by_kind(before: Mapping, after: Mapping, total_cpu: float) -> dict[str, float]:
    """The CPU seconds between two `jvm_thread_cpu` snapshots, by kind; what no live JVM thread of
    a kind used (out of `total_cpu`, the run's CPU of every process) is "driver and other"."""
    if not after:
        return {}
    spent = {kind: 0.0 for kind in KINDS}
    for key, (name, seconds) in after.items():
        kind = kind_of(name)
        if kind != OTHER:
            spent[kind] += seconds - before.get(key, (name, 0.0))[1]
    spent[OTHER] = max(0.0, total_cpu - sum(spent.values()))
    return {kind: round(seconds, 1) for kind, seconds in spent.items()}
