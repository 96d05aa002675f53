"""The publication of the curated tables on its own (music_kpis/publication.py): the marker, sealing,
finishing what a dead run left (files gone, an empty day, several markers) and cleaning up.

The whole job interrupted mid-publication, then retried, is in tests/glue/test_faults.py.
"""

from __future__ import annotations

import json

import pytest

from music_contract import layout, tables
from music_contract import names as contract_names
from music_kpis import publication
from music_kpis.datasets import DataRoot
from tests.glue.bucket import FIRST_DAY, SECOND_DAY


@pytest.fixture
def storage(spark, tmp_path) -> DataRoot:
    return DataRoot(spark, tmp_path.as_uri())


def _stage(storage, run_id: str, files: dict[tuple[str, str], list[str]]) -> publication.Staging:
    """Stage `files` ((table, day) -> names, each holding its run id) for `run_id`."""
    staging = publication.Staging(storage, run_id)
    for (table, day), names in files.items():
        for name in names:
            storage.write_text(f"{staging.prefix(table)}listen_date={day}/{name}", run_id)
    return staging


def _curated(storage, table: str, day: str) -> dict[str, str]:
    folder = f"{tables.CURATED_TABLES[table].prefix}listen_date={day}/"
    return {name: storage.read_text(folder + name) for name in storage.list_files(folder)}


def test_a_marker_round_trips_and_one_sealed_before_dates_were_recorded_takes_them_from_its_folders():
    partition = publication.Partition(
        "tmp/run_id=r/top_genres/listen_date=2026-11-21/",
        "curated/top_genres/listen_date=2026-11-21/",
        ("part-1.parquet",),
    )
    sealed = publication.Publication("r", (partition,), ("2026-11-21",), "2026-11-21T10:00:00.000000+00:00")
    assert publication.Publication.from_json(sealed.to_json()) == sealed

    older = json.loads(sealed.to_json())
    del older["dates"], older["sealed_at"]
    again = publication.Publication.from_json(json.dumps(older))
    assert (again.dates, again.sealed_at) == (("2026-11-21",), "")


def test_kpi_tables_are_the_published_kpi_tables_in_order_without_the_events():
    def partition(table: str, day: str) -> publication.Partition:
        return publication.Partition("", f"{tables.CURATED_TABLES[table].prefix}listen_date={day}/", ())

    sealed = publication.Publication(
        "r",
        tuple(
            partition(table, day)
            for table in ("streams", "top_genres", "daily_genre_kpis")
            for day in (FIRST_DAY, SECOND_DAY)
        ),
    )
    assert sealed.kpi_tables == ["top_genres", "daily_genre_kpis"]


def _never(pending):
    raise AssertionError(f"no publication is pending, yet {pending.run_id}'s items were rebuilt")


def test_a_sealed_publication_replaces_each_day_whole_and_cleans_up(storage):
    storage.write_text(
        f"{layout.CURATED_STREAMS_PREFIX}listen_date={FIRST_DAY}/part-old.parquet", "earlier run"
    )
    storage.write_text(
        f"{layout.CURATED_STREAMS_PREFIX}listen_date={SECOND_DAY}/part-kept.parquet", "other day"
    )
    staging = _stage(storage, "run", {("streams", FIRST_DAY): ["part-1.parquet", "part-2.parquet"]})

    sealed = publication.seal(staging, ["streams"], [FIRST_DAY, FIRST_DAY])
    assert sealed.dates == (FIRST_DAY,)
    assert publication.Publication.from_json(storage.read_text(staging.marker)) == sealed
    publication.publish(storage, sealed)

    assert _curated(storage, "streams", FIRST_DAY) == {"part-1.parquet": "run", "part-2.parquet": "run"}
    assert _curated(storage, "streams", SECOND_DAY) == {"part-kept.parquet": "other day"}  # not published
    # Open until the dates' DynamoDB items follow: a run dying now leaves it for the next run.
    assert storage.exists(staging.marker)
    publication.publish(storage, sealed)  # publishing again changes nothing
    assert _curated(storage, "streams", FIRST_DAY) == {"part-1.parquet": "run", "part-2.parquet": "run"}
    publication.close(storage, sealed)
    assert not storage.exists(staging.root)


def test_a_failed_run_discards_its_staging_unless_it_is_sealed(storage):
    unsealed = _stage(storage, "unsealed", {("streams", FIRST_DAY): ["part-1.parquet"]})
    sealed = _stage(storage, "sealed", {("streams", FIRST_DAY): ["part-1.parquet"]})
    publication.seal(sealed, ["streams"], [FIRST_DAY])

    unsealed.discard()
    sealed.discard()

    assert not storage.exists(unsealed.root)
    assert storage.exists(sealed.marker)  # the only complete copy: the next run finishes it


def test_finishing_removes_other_runs_unsealed_staging_and_keeps_the_current_runs(storage):
    dead = _stage(storage, "dead_run", {("streams", FIRST_DAY): ["part-1.parquet"]})
    current = _stage(storage, "current_run", {("streams", FIRST_DAY): ["part-1.parquet"]})

    assert publication.finish_pending(storage, "current_run", _never) == []

    assert not storage.exists(dead.root)
    assert storage.list_files(f"{current.prefix('streams')}listen_date={FIRST_DAY}/") == ["part-1.parquet"]


def test_a_marker_whose_files_are_gone_stops_before_touching_curated(storage):
    storage.write_text(
        f"{layout.CURATED_STREAMS_PREFIX}listen_date={FIRST_DAY}/part-old.parquet", "earlier run"
    )
    staging = _stage(storage, "dead_run", {("streams", FIRST_DAY): ["part-1.parquet", "part-2.parquet"]})
    publication.seal(staging, ["streams"], [FIRST_DAY])
    # Lost (a lifecycle rule):
    storage.delete(f"{staging.prefix('streams')}listen_date={FIRST_DAY}/part-2.parquet")

    with pytest.raises(publication.PublicationIncomplete) as failure:
        publication.finish_pending(storage, "next_run", _never)

    message = str(failure.value)
    assert "run dead_run" in message
    assert f"curated/streams/listen_date={FIRST_DAY}/part-2.parquet" in message
    assert "curated/ was not touched" in message
    assert contract_names.DATA_ERROR_MARK in message  # final: a retry would fail the same way
    assert _curated(storage, "streams", FIRST_DAY) == {"part-old.parquet": "earlier run"}
    assert storage.exists(staging.marker)  # left for a person to act on


def test_a_day_with_events_is_never_sealed_empty(storage):
    # Nothing staged for SECOND_DAY:
    staging = _stage(storage, "run", {("streams", FIRST_DAY): ["part-1.parquet"]})

    with pytest.raises(publication.EmptyPartition, match=f"streams on {SECOND_DAY}"):
        publication.seal(staging, ["streams"], [FIRST_DAY, SECOND_DAY])
    assert not storage.exists(staging.marker)


def test_pending_publications_finish_in_the_order_they_were_sealed(storage):
    # Sealed first, but its run id sorts last: the later seal must win the shared day.
    first = _stage(storage, "z_first", {("streams", FIRST_DAY): ["part-a.parquet"]})
    publication.seal(first, ["streams"], [FIRST_DAY])
    second = _stage(storage, "a_second", {("streams", FIRST_DAY): ["part-b.parquet"]})
    publication.seal(second, ["streams"], [FIRST_DAY])

    # Each is finished whole (published, its items rebuilt, closed) before the next is published.
    seen = []

    def rebuild_items(pending):
        marker = publication.Staging(storage, pending.run_id).marker
        seen.append((pending.run_id, _curated(storage, "streams", FIRST_DAY), storage.exists(marker)))

    finished = publication.finish_pending(storage, "next_run", rebuild_items)

    assert seen == [
        ("z_first", {"part-a.parquet": "z_first"}, True),
        ("a_second", {"part-b.parquet": "a_second"}, True),
    ]
    assert not storage.exists(first.root)
    assert not storage.exists(second.root)
    assert [p.run_id for p in finished] == ["z_first", "a_second"]
    assert [p.dates for p in finished] == [(FIRST_DAY,), (FIRST_DAY,)]
    assert _curated(storage, "streams", FIRST_DAY) == {"part-b.parquet": "a_second"}
