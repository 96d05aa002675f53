"""Recoverable publication of the curated tables (docs/DESIGN.md, "Publication").

S3 has no atomic rename: replacing a `listen_date=` folder is a delete of its objects and a copy
of the new ones, object by object, and a run can die anywhere in between (Spark's dynamic
partition overwrite commits the same way on S3, so a retry could merge into a half-written day).
So no Spark writer writes under `curated/`. A run:

1. stages every partition it replaces under `tmp/run_id=<id>/<table>/listen_date=<day>/`
   (`Staging`);
2. seals the staged copy with a marker, `tmp/run_id=<id>/publication.json`, that lists every
   staged file of every (table, day), written only once every staged file exists (`seal`);
3. publishes each (table, day): deletes the curated objects that are not in the marker's list
   (`clear_partition`), then moves each staged file in (`fill_partition`; on S3 a server-side
   copy and a delete, each object whole or absent) (`publish`);
4. once the dates' DynamoDB items follow the published tables, deletes the marker, then the
   staging folder (`close`).

The marker also records the publication's dates and when it was sealed: the run that finishes a
dead run's publication rebuilds those dates' DynamoDB items from the published tables before it
closes it (`finish_pending`), so a run that died after publishing but before its items were
written leaves the marker, and DynamoDB follows curated/ at the next run's start. Several pending
publications are finished, each whole, in the order they were sealed.
Before a partition is cleared, every file the marker lists must exist, staged or already moved
(`check_complete`): otherwise the publication stops with `PublicationIncomplete` and `curated/` is
left untouched. A (table, day) with no staged file is never sealed (`seal`): publishing it would
empty a day that had events.

A marker means "the staged copy is complete, curated/ may be half-replaced". Every run starts by
finishing any marker it finds (`finish_pending`) before it reads `curated/`, so a retry of the
same run, or any later run, completes the publication from the staged copy and never merges into
a partial day. Each step is idempotent: a file is either still staged, already moved (both, when
a copy completed before its source was deleted), or the marker is gone and the day is complete.
This relies on one job run at a time (the job's `MaxConcurrentRuns` is 1): any staging folder
without a marker, other than the running one's, is what a dead run left and is removed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from music_contract import layout
from music_contract import tables as contract_tables
from music_kpis.datasets import DataError, DataRoot

log = logging.getLogger(__name__)

MARKER_NAME = "publication.json"


@dataclass(frozen=True)
class Partition:
    """One (table, day) to publish: the staged folder, the curated folder, the staged file names."""

    staged: str
    curated: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Publication:
    run_id: str
    partitions: tuple[Partition, ...]
    dates: tuple[str, ...] = ()  # the days it publishes (their DynamoDB items follow the tables)
    sealed_at: str = ""  # UTC ISO time the marker was written: pending markers finish in this order

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Publication:
        body = json.loads(text)
        parts = tuple(Partition(p["staged"], p["curated"], tuple(p["files"])) for p in body["partitions"])
        # A marker sealed before the dates were recorded: its partitions' folders name them.
        dates = body.get("dates") or sorted({p.curated.rstrip("/").rsplit("=", 1)[1] for p in parts})
        return cls(body["run_id"], parts, tuple(dates), body.get("sealed_at", ""))

    @property
    def kpi_tables(self) -> list[str]:
        """The KPI tables (not the events) it publishes, in its own order."""
        tables = []
        for partition in self.partitions:
            table = partition.curated[len(layout.CURATED_PREFIX) :].split("/", 1)[0]
            if table in contract_tables.CURATED_TABLES and table != "streams" and table not in tables:
                tables.append(table)
        return tables


class EmptyPartition(RuntimeError):
    """A (table, day) to seal has no staged file: publishing it would empty a day that had events."""


class PublicationIncomplete(DataError):
    """Files a sealed publication lists are neither staged nor in curated/: it cannot be finished.

    A `DataError`: a new run would fail the same way until a person acts (the message says how).
    """


class Staging:
    """The run's staging folder `tmp/run_id=<id>/`: one sub-folder per curated table."""

    def __init__(self, storage: DataRoot, run_id: str):
        self.storage = storage
        self.run_id = run_id
        self.root = layout.staging_prefix(run_id)
        self.marker = f"{self.root}{MARKER_NAME}"

    def prefix(self, table: str) -> str:
        return f"{self.root}{table}/"

    def reset(self) -> None:
        """Start from an empty folder: what an earlier attempt staged may be partial."""
        self.storage.delete(self.root)

    def discard(self) -> None:
        """Remove what a failed run staged, unless it is sealed (then it is the only complete copy)."""
        if not self.storage.exists(self.marker):
            self.storage.delete(self.root)


def seal(staging: Staging, tables: Iterable[str], dates: Sequence[str]) -> Publication:
    """List every staged file of `tables` x `dates` and write the marker (the last staging write).

    Every (table, day) is one with events: one without a staged file raises `EmptyPartition`
    (no marker is written) instead of sealing a publication that would empty that day.
    """
    storage = staging.storage
    days = sorted(set(dates))
    partitions = []
    for table in tables:
        for day in days:
            folder = f"{layout.PARTITION_COLUMN}={day}/"
            staged = f"{staging.prefix(table)}{folder}"
            curated = f"{contract_tables.CURATED_TABLES[table].prefix}{folder}"
            files = tuple(storage.list_files(staged))
            if not files:
                raise EmptyPartition(
                    f"run {staging.run_id}: nothing staged under {storage.uri(staged)} for {table} on {day}, "
                    "a day with events; not sealed, curated/ untouched"
                )
            partitions.append(Partition(staged, curated, files))
    sealed_at = datetime.now(UTC).isoformat(timespec="microseconds")
    publication = Publication(staging.run_id, tuple(partitions), tuple(days), sealed_at)
    storage.write_text(staging.marker, publication.to_json())
    return publication


# Objects deleted or moved at once: on S3 each is a request or two the driver only waits for,
# and a day of events is one file per task that wrote it.
PARALLEL_OBJECTS = 16


def _for_each(action: Callable[[str], None], names: Iterable[str]) -> None:
    """`action` on every name, PARALLEL_OBJECTS at a time; the first error is raised."""
    with ThreadPoolExecutor(PARALLEL_OBJECTS) as pool:
        for _ in pool.map(action, names):
            pass


def clear_partition(storage: DataRoot, partition: Partition) -> None:
    """Delete the curated day's objects that are not staged files of this publication."""
    keep = set(partition.files)
    stale = [name for name in storage.list_files(partition.curated) if name not in keep]
    _for_each(lambda name: storage.delete(f"{partition.curated}{name}"), stale)


def fill_partition(storage: DataRoot, partition: Partition) -> None:
    """Move the staged files in (a file already moved is skipped)."""
    _for_each(
        lambda name: storage.move(f"{partition.staged}{name}", f"{partition.curated}{name}"), partition.files
    )


def check_complete(storage: DataRoot, publication: Publication) -> None:
    """Every listed file is staged or already in curated/; else `PublicationIncomplete` naming the
    run, the missing files and what to do (nothing has been cleared yet)."""
    missing = []
    for partition in publication.partitions:
        present = set(storage.list_files(partition.staged)) | set(storage.list_files(partition.curated))
        missing += [f"{partition.curated}{name}" for name in partition.files if name not in present]
    if missing:
        marker = storage.uri(Staging(storage, publication.run_id).marker)
        raise PublicationIncomplete(
            f"the sealed publication of run {publication.run_id} ({marker}) cannot be finished: "
            f"{len(missing)} file(s) it lists are neither staged nor in curated/, e.g. {missing[:5]}. "
            "curated/ was not touched. Restore them (the data bucket is versioned), or delete the marker "
            f"and rebuild the dates {list(publication.dates)}: `make recompute DATES=...` when their "
            "curated/streams/ partitions are whole, else replay the days their files were archived"
        )


def publish(storage: DataRoot, publication: Publication) -> None:
    """Replace every curated (table, day) of `publication` by its staged copy. The marker stays
    (`close` removes it once the dates' DynamoDB items follow the tables); publishing again is a
    no-op."""
    check_complete(storage, publication)
    for partition in publication.partitions:
        clear_partition(storage, partition)
        fill_partition(storage, partition)


def close(storage: DataRoot, publication: Publication) -> None:
    """The publication is done, tables and DynamoDB items: delete its marker, then its staging."""
    staging = Staging(storage, publication.run_id)
    storage.delete(staging.marker)  # the marker goes first: staging without one is only leftovers
    storage.delete(staging.root)


def pending(storage: DataRoot) -> list[Publication]:
    """Every sealed, unfinished publication, in the order they were sealed (oldest first)."""
    found = []
    for key in storage.glob(f"{layout.STAGING_PREFIX}run_id=*/{MARKER_NAME}"):
        publication = Publication.from_json(storage.read_text(key))
        # A marker without `sealed_at` (written by an earlier version): the object's write time.
        found.append((publication.sealed_at or storage.modified_at(key), publication.run_id, publication))
    return [publication for _, _, publication in sorted(found, key=lambda f: (f[0], f[1]))]


def finish_pending(
    storage: DataRoot, current_run_id: str, rebuild_items: Callable[[Publication], None]
) -> list[Publication]:
    """Finish every sealed publication a dead run left, oldest first (a later one replaces what an
    earlier one wrote, as when both runs finished), each whole: publish it, `rebuild_items` of its
    dates from the published tables, close it. Then remove unsealed staging of other runs.

    Returns the finished publications (their run ids go to the report).
    """
    finished = []
    for publication in pending(storage):
        log.warning(
            "finishing the interrupted publication of run %s from its staged copy", publication.run_id
        )
        publish(storage, publication)
        rebuild_items(publication)
        close(storage, publication)
        finished.append(publication)
    current = layout.staging_prefix(current_run_id).rstrip("/")
    for folder in storage.glob(f"{layout.STAGING_PREFIX}run_id=*"):
        if folder.rstrip("/") != current:
            log.warning("removing %s, staged by a run that ended before publishing", storage.uri(folder))
            storage.delete(folder)
    return finished
