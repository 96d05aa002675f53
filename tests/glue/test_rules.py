"""The job's business rules (`music_kpis.rules`): the reject ratio a run may not exceed, and a stream
file's source id in the curated store."""

from __future__ import annotations

import pytest

from music_contract import tables
from music_kpis.datasets import DataError
from music_kpis.rules import RejectRatioExceeded, check_reject_ratio, content_ids, reject_ratio

BY_REASON = {tables.REJECT_MISSING_USER_ID: 3, tables.REJECT_UNKNOWN_TRACK_ID: 1}


def test_the_reject_ratio_is_the_share_of_rows_rejected_and_zero_without_rows():
    assert reject_ratio(16, 4) == 0.25
    assert reject_ratio(0, 0) == 0.0


@pytest.mark.parametrize(
    ("read", "rejected", "limit"),
    [(16, 4, 0.25), (0, 0, 0.0), (10, 0, 0.0)],
    ids=["at-the-limit", "no-rows", "none-rejected"],
)
def test_a_run_at_or_under_the_limit_passes(read, rejected, limit):
    check_reject_ratio(read, rejected, BY_REASON, limit)


def test_a_run_over_the_limit_fails_as_a_data_error_naming_counts_limit_and_reasons():
    with pytest.raises(RejectRatioExceeded) as failure:
        check_reject_ratio(16, 4, {**BY_REASON, tables.REJECT_INVALID_LISTEN_TIME: 0}, 0.05)
    assert isinstance(failure.value, DataError)  # the DAG does not retry a data error
    assert str(failure.value).endswith(
        "4 of 16 stream rows rejected (25.00%), more than --max_reject_ratio 5.00%: by reason "
        f"{BY_REASON}; nothing was published"
    )


def _stats(source_index: int, n: int, lo: int, hi: int) -> dict:
    return {"source_index": source_index, "n": n, "hash_lo": lo, "hash_hi": hi}


def test_a_source_id_is_the_key_and_a_digest_of_the_summed_line_hashes_of_every_split():
    keys = ["raw_data/a.csv", "raw_data/b.csv"]
    whole = content_ids([_stats(0, 3, 10, 20), _stats(1, 3, 10, 20)], keys)
    split = content_ids([_stats(0, 1, 4, 5), _stats(0, 2, 6, 15), _stats(1, 3, 10, 21)], keys)
    assert [i.split("#")[0] for i in whole] == keys
    assert split[0] == whole[0]  # the same lines, read in two splits
    assert split[1] != whole[1]  # one line changed
    assert whole[0].split("#")[1] == whole[1].split("#")[1]  # same content under another key


def test_the_report_is_built_once_from_what_the_steps_returned():
    """A run that failed after counting keeps its counts (and no write it never made) in the report."""
    from music_contract.quality import FileQuality
    from music_kpis.arguments import JobArguments
    from music_kpis.job import RunRecord, quality_report
    from music_kpis.steps import RowCounts

    by_reason = {**dict.fromkeys(tables.REJECT_REASONS, 0), **BY_REASON}
    counts = RowCounts([FileQuality("raw_data/a.csv", "e", 16, 12, 4)], 16, 4, by_reason, 1, ["2026-11-20"])
    record = RunRecord(["earlier"], counts, counts.dates, new_events=10)
    args = JobArguments("bucket", "manifests/m.json", "r1", "kpis", max_reject_ratio=0.5)

    report = quality_report(args, record, "t0", "t1", "failed", "RuntimeError: boom")

    assert (report.status, report.error, report.started_at, report.finished_at) == (
        "failed", "RuntimeError: boom", "t0", "t1",
    )  # fmt: skip
    assert (report.rows_read, report.rows_accepted, report.rows_rejected, report.reject_ratio) == (
        16,
        12,
        4,
        0.25,
    )
    assert (report.duplicates_dropped, report.unknown_user_rows, report.dates_affected) == (
        2,
        1,
        ["2026-11-20"],
    )
    assert report.rejected_by_reason == by_reason
    assert (report.kpi_items_written, report.stale_items_deleted) == (0, 0)
    assert report.publications_finished == ["earlier"]
    assert quality_report(args, RunRecord(), "t0", "t1").status == "succeeded"
