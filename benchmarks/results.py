"""The row every benchmark reports, and the helpers that measure time and peak memory."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BenchResult:
    """One measured thing, next to the baseline it is compared with (if any).

    `ratio` is seconds / baseline_seconds: below 1 means faster than the baseline.
    """

    what: str
    size: str
    seconds: float
    rows: int | None = None
    peak_memory_mb: float | None = None
    baseline: str = ""
    baseline_seconds: float | None = None

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds > 0 else None

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.baseline_seconds if self.baseline_seconds else None


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run `fn` once; return (wall-clock seconds, its result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def peak_rss_mb(include_children: bool = True) -> float:
    """Peak resident memory of this process (and of its finished children, e.g. the Spark JVM)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if include_children else 0
    return max(own, children) / 1024.0
