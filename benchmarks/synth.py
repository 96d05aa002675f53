"""Benchmark: how long a synth takes with both cdk-nag packs, against the same synth without them.

Every measurement is a fresh process, as a user runs it: interpreter, jsii runtime and Node
start included. `python -m benchmarks.synth [--quick]` prints the rows on its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.results import BenchResult, PeakMemory, timed

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
_ENV = {
    **os.environ,
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}

# Runs in the child process: build and synthesize one environment, with or without nag.
_CHILD = """
from infra.application import build_app
from infra.config import cdk_context
context = cdk_context() | {{"env": {env!r}}}
app, _ = build_app(context=context, outdir={outdir!r}, nag={nag!r})
app.synth()
"""


def _measure(command: list[str]) -> tuple[float, float]:
    """Wall-clock seconds and peak memory (MB, process tree) of one command; fails loudly."""
    with PeakMemory(scope="children") as memory:
        seconds, result = timed(
            lambda: subprocess.run(command, cwd=REPO_ROOT, env=_ENV, capture_output=True, text=True)
        )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return seconds, memory.peak_mb


def _in_process_synth(env: str, nag: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as outdir:
        code = _CHILD.format(
            env=env,
            outdir=outdir,
            nag=nag,
        )
        return _measure([sys.executable, "-c", code])


def run(quick: bool = False) -> list[BenchResult]:
    """Rows: app synth with both nag packs vs without (dev; prod too unless quick), and the CLI."""
    results = []
    for env in ("dev",) if quick else ("dev", "prod"):
        plain_seconds, _ = _in_process_synth(env, nag=False)
        nag_seconds, nag_memory = _in_process_synth(env, nag=True)
        results.append(
            BenchResult(
                what="synth app.py, AwsSolutions + NIST 800-53 R5",
                size=f"MusicStreams-{env}",
                seconds=nag_seconds,
                peak_memory_mb=nag_memory,
                baseline="same synth, no nag",
                baseline_seconds=plain_seconds,
            )
        )
    if CDK_CLI.exists() and not quick:
        with tempfile.TemporaryDirectory(prefix="bench-cli-") as outdir:
            seconds, memory = _measure([str(CDK_CLI), "synth", "--quiet", "--no-notices", "--output", outdir])
        results.append(
            BenchResult(
                what="make synth (pinned cdk CLI, both nag packs)",
                size="MusicStreams-dev",
                seconds=seconds,
                peak_memory_mb=memory,
            )
        )
    return results


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps({**row.__dict__, "ratio": row.ratio}))
