"""What a Spark run's JVM holds, from the JVM's own GC log: not the heap the collector reserved.

A process's resident memory (`results.PeakMemory`) follows the heap size the garbage collector
chose. G1 (Java 17's default) grows the heap towards its limit (`-Xmx`, the driver memory) when
collections take more than its pause-time share, so under the benchmark's 8 GB limit one and the
same job run on the same files peaked at 4.1, 5.1 and 9.8 GB of RSS. The heap in use right after
each collection is what the run still referenced (plus old-generation garbage that a young
collection does not visit, so it is an upper bound): its peak is the memory the run needs, and it
does not move with the collector's sizing.

The JVM writes the log with `-Xlog:gc` (JDK unified logging, JEP 158): one line per pause, e.g.
``[29.4s][info][gc] GC(88) Pause Young (Normal) (G1 Evacuation Pause) 1361M->943M(1620M) 7.2ms``
(heap in use before -> after (heap size)).
"""

from __future__ import annotations

import re
from pathlib import Path

_PAUSE = re.compile(r"\bPause\b.*?\s(\d+)M->(\d+)M\((\d+)M\)")


def gc_log_option(path: Path) -> str:
    """The JVM option that writes the GC log to `path` (replaced if it exists)."""
    return f"-Xlog:gc:file={path.resolve()}"


def heap_after_gc_peak_mb(path: Path) -> float | None:
    """The largest heap in use right after a collection (MiB), or None when no collection ran."""
    if not path.exists():
        return None
    after = [int(m.group(2)) for m in map(_PAUSE.search, path.read_text().splitlines()) if m]
    return float(max(after)) if after else None
