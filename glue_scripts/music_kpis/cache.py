"""The DataFrames a run keeps in memory (`RunCache`), released when the run ends, however it ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pyspark import StorageLevel
from pyspark.sql import DataFrame

# The DataFrame default (`df.cache()`). PySpark's `StorageLevel.MEMORY_AND_DISK` is the serialized
# level: it would serialize the columnar cache batches once more.
CACHE = StorageLevel.MEMORY_AND_DISK_DESER


class RunCache:
    """The DataFrames a run keeps in memory; `persist` them here, all are released on exit."""

    def __init__(self) -> None:
        self._frames: list[DataFrame] = []

    def persist(self, frame: DataFrame) -> DataFrame:
        frame = frame.persist(CACHE)
        self._frames.append(frame)
        return frame

    def release_frame(self, frame: DataFrame) -> None:
        """Unpersist one frame early (its last reader is done)."""
        frame.unpersist()
        self._frames = [kept for kept in self._frames if kept is not frame]

    def release(self) -> None:
        for frame in self._frames:
            frame.unpersist()
        self._frames.clear()


@contextmanager
def run_cache() -> Iterator[RunCache]:
    """A `RunCache` whose frames are unpersisted when the block ends, however it ends."""
    cache = RunCache()
    try:
        yield cache
    finally:
        cache.release()
