"""Runs the real `glue_scripts/compute_kpis.py` and SIGKILLs its whole process tree right after a
named step: `python -m tests.glue.fault_runner STEP N ARGS...` (test-side only: the shipped job
has no hook).

STEP is a write step of the job, wrapped here; the kill comes right after its N-th call returns:

- `write_quarantine`: the quarantine CSV written;
- `write_partitions`: a Spark write of a staged table (1 = the curated events, 2-4 = KPI tables);
- `seal`: the publication marker written;
- `clear_partition`: a curated (table, day) emptied, before its staged files are moved in;
- `fill_partition`: a curated (table, day) published;
- `BatchWriteItem`: a DynamoDB batch accepted;
- `seconds`: no step, a kill N seconds after start (a sweep of kill times; the run may finish first).

The runner's caller starts it in a new session; the kill takes the process group (this Python
process and the Spark JVM it launched), as a lost Glue driver would. Exit code 3: STEP N never
came (the kill point was not reached: the test is wrong).
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading

from botocore.client import BaseClient

import music_kpis.publication
import music_kpis.steps
from music_kpis import entry

NOT_REACHED = 3


def _kill_after(owner, name: str, after: int) -> None:
    original = getattr(owner, name)
    calls = 0

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        nonlocal calls
        result = original(*args, **kwargs)
        calls += 1
        if calls == after:
            sys.stdout.flush()
            os.killpg(os.getpgrp(), signal.SIGKILL)
        return result

    setattr(owner, name, wrapper)


def _kill_after_api_call(operation: str, after: int) -> None:
    original = BaseClient._make_api_call
    calls = 0

    def wrapper(self, operation_name, params):
        nonlocal calls
        result = original(self, operation_name, params)
        if operation_name == operation:
            calls += 1
            if calls == after:
                os.killpg(os.getpgrp(), signal.SIGKILL)
        return result

    BaseClient._make_api_call = wrapper


STEPS = {
    "write_quarantine": music_kpis.steps,
    "write_partitions": music_kpis.steps,
    "seal": music_kpis.publication,
    "clear_partition": music_kpis.publication,
    "fill_partition": music_kpis.publication,
}


def main(argv: list[str]) -> int:
    step, after, job_argv = argv[0], int(argv[1]), argv[2:]
    if step == "seconds":
        threading.Timer(after, os.killpg, (os.getpgrp(), signal.SIGKILL)).start()
    elif step == "BatchWriteItem":
        _kill_after_api_call(step, after)
    else:
        _kill_after(STEPS[step], step, after)
    entry.main(["compute_kpis.py", *job_argv])
    if step == "seconds":
        os._exit(0)  # finished before the timer: the Timer thread must not kill a later process
    return NOT_REACHED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
