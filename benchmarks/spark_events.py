"""What a Spark run did, read from Spark's own event log: jobs, stages, tasks, task time, spill.

The benchmark's Spark processes start with `event_log_conf(folder)`; once the session has stopped
(the log is complete), `read_event_log(folder, since_ms)` sums what started at or after `since_ms`
(the measured run, not the JVM warm-up). The same numbers the Spark UI and history server show.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


def event_log_conf(folder: Path) -> dict[str, str]:
    """Session settings that write an uncompressed event log under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": folder.resolve().as_uri(),
        "spark.eventLog.compress": "false",
    }


@dataclass(frozen=True)
class SparkWork:
    """One run's Spark work. `stages` ran; `skipped_stages` were planned but their output reused."""

    jobs: int = 0
    stages: int = 0
    skipped_stages: int = 0
    tasks: int = 0
    task_seconds: float = 0.0  # executor run time summed over tasks
    spilled_mb: float = 0.0  # memory bytes spilled to disk, summed
    shuffle_write_mb: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def summary(self) -> str:
        return f"{self.jobs} jobs, {self.stages} stages ({self.skipped_stages} skipped), {self.tasks} tasks"


def _events(folder: Path):
    for log in sorted(p for p in folder.iterdir() if p.is_file()):
        with log.open() as lines:
            for line in lines:
                yield json.loads(line)


def heaviest_stages(folder: Path, since_ms: int, count: int = 8) -> list[tuple[float, int, str]]:
    """The `count` stages with the most executor run time: (seconds, stage id, Spark's call site)."""
    names, seconds = {}, {}
    for event in _events(folder):
        kind = event.get("Event")
        if kind == "SparkListenerStageCompleted":
            info = event["Stage Info"]
            if info.get("Submission Time", 0) >= since_ms:
                names[info["Stage ID"]] = info["Stage Name"]
        elif kind == "SparkListenerTaskEnd" and event["Task Info"]["Launch Time"] >= since_ms:
            run_ms = (event.get("Task Metrics") or {}).get("Executor Run Time", 0)
            seconds[event["Stage ID"]] = seconds.get(event["Stage ID"], 0) + run_ms / 1000
    ranked = sorted(((s, stage, names.get(stage, "?")) for stage, s in seconds.items()), reverse=True)
    return ranked[:count]


def read_event_log(folder: Path, since_ms: int) -> SparkWork:
    """Sum the work of every job submitted at or after `since_ms` (epoch milliseconds)."""
    jobs, planned, ran, tasks = 0, set(), set(), 0
    task_ms = spilled = shuffled = 0
    for event in _events(folder):
        kind = event.get("Event")
        if kind == "SparkListenerJobStart" and event["Submission Time"] >= since_ms:
            jobs += 1
            planned.update(event["Stage IDs"])
        elif kind == "SparkListenerStageCompleted":
            info = event["Stage Info"]
            if info.get("Submission Time", 0) >= since_ms:
                ran.add(info["Stage ID"])
        elif kind == "SparkListenerTaskEnd" and event["Task Info"]["Launch Time"] >= since_ms:
            tasks += 1
            metrics = event.get("Task Metrics") or {}
            task_ms += metrics.get("Executor Run Time", 0)
            spilled += metrics.get("Memory Bytes Spilled", 0)
            shuffled += (metrics.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0)
    return SparkWork(
        jobs=jobs,
        stages=len(ran),
        skipped_stages=len(planned - ran),
        tasks=tasks,
        task_seconds=task_ms / 1000,
        spilled_mb=spilled / 2**20,
        shuffle_write_mb=shuffled / 2**20,
    )
