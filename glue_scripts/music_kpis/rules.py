"""The job's business rules, apart from the wiring (`job`) and the storage (`datasets`):

- the reject ratio: a run fails, publishing nothing, when more of its stream rows were rejected
  than `--max_reject_ratio` allows (docs/DESIGN.md, "Glue job contract");
- the source id: a stream file's identity in the curated store, `<key>#<digest>` of its lines
  (docs/DESIGN.md: a file run again replaces its own rows, whatever its ETag).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F

from music_kpis.datasets import DataError


class RejectRatioExceeded(DataError):
    """More of the run's stream rows were rejected than `--max_reject_ratio` allows."""


def reject_ratio(rows_read: int, rows_rejected: int) -> float:
    """The share of the data rows rejected (0 when there are none)."""
    return rows_rejected / rows_read if rows_read else 0.0


def check_reject_ratio(
    rows_read: int, rows_rejected: int, rejected_by_reason: Mapping[str, int], max_reject_ratio: float
) -> None:
    """Raise `RejectRatioExceeded` (by reason, saying nothing was published) over the limit."""
    if rows_read and rows_rejected / rows_read > max_reject_ratio:
        raise RejectRatioExceeded(
            f"{rows_rejected} of {rows_read} stream rows rejected "
            f"({reject_ratio(rows_read, rows_rejected):.2%}), "
            f"more than --max_reject_ratio {max_reject_ratio:.2%}: by reason "
            f"{ {k: v for k, v in rejected_by_reason.items() if v} }; nothing was published"
        )


def content_ids(stats: Sequence, keys: Sequence[str]) -> list[str]:
    """Each stream file's identity in the curated store, from its content: `<key>#<digest>`.

    Not its ETag: an object encrypted with SSE-KMS (the data bucket's encryption) or SSE-C has an
    ETag that is not an MD5 digest of its data (Amazon S3 API Reference, the `Object` data type,
    ETag), so an identical re-upload gets a new one. The digest is
    over the file's lines (their count and two 31-bit sums of each line's xxhash64, summed without
    overflow by `steps.count_quality`), whatever the line order or the splits Spark read.

    :param stats: rows with `source_index`, `n` (lines) and the sums `hash_lo`, `hash_hi`.
    """
    totals = [[0, 0, 0] for _ in keys]
    for row in stats:
        total = totals[row["source_index"]]
        total[0] += row["n"]
        total[1] += row["hash_lo"]
        total[2] += row["hash_hi"]
    return [
        f"{key}#{hashlib.sha256(f'{n}:{lo}:{hi}'.encode()).hexdigest()[:32]}"
        for key, (n, lo, hi) in zip(keys, totals, strict=True)
    ]


def line_hash_sums() -> list[Column]:
    """Aggregates of `_line_hash` for `content_ids`: 31-bit parts summed (no long overflow)."""
    return [
        F.sum(F.col("_line_hash").bitwiseAND(F.lit(0x7FFFFFFF))).alias("hash_lo"),
        F.sum(F.shiftrightunsigned("_line_hash", 33)).alias("hash_hi"),
    ]
