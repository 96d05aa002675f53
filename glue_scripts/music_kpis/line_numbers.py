"""Source line numbers of stream rows: where in its file each quarantined row was.

The invariant everything here relies on, stated once: a text scan of one file puts each Spark split
of that file in a partition of its own, so a row's index within its partition is its line index
within its split. A line is then numbered ``lines of the same file in earlier splits + index in its
split + 1`` (1-based; the header is line 1). `split_line_bases` checks the invariant on every run
(each split's smallest row index must be 0) and fails rather than number lines wrongly.

- `split_columns`: the columns ``_block`` (the split's byte offset) and ``_row`` (the index within the
  split) a scan adds to each line (`datasets.read_csv_lines`);
- `split_line_bases`: from the per-split counts of one pass, the lines before each split;
- `with_line_numbers`: adds ``line_number`` to rows carrying ``source_index``, ``_block``, ``_row``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F

# monotonically_increasing_id() is (partition index << 33) + row index within the partition.
_ROW_IN_PARTITION = (1 << 33) - 1


def split_columns() -> tuple[Column, Column]:
    """``_block`` and ``_row`` of a scanned line (evaluate per task: after any union)."""
    block = F.input_file_block_start().alias("_block")
    row = F.monotonically_increasing_id().bitwiseAND(F.lit(_ROW_IN_PARTITION)).alias("_row")
    return block, row


def split_bases(split_lines: Sequence[tuple[int, int, int]]) -> dict[tuple[int, int], int]:
    """From (source_index, _block, lines) per split, the lines of the same file before each split."""
    bases: dict[tuple[int, int], int] = {}
    seen: dict[int, int] = {}
    for source, block, lines in sorted(split_lines):
        bases[(source, block)] = seen.get(source, 0)
        seen[source] = seen.get(source, 0) + lines
    return bases


def split_line_bases(stats: Sequence[Row]) -> dict[tuple[int, int], int]:
    """Lines before each split of each file, from per-split counts (``n``) and smallest ``_row``
    (``first_row``); raises when a split does not start at row 0 (the module's invariant broke)."""
    lines: dict[tuple[int, int], int] = defaultdict(int)
    first: dict[tuple[int, int], int] = {}
    for r in stats:
        key = (r["source_index"], r["_block"])
        lines[key] += r["n"]
        first[key] = min(first.get(key, r["first_row"]), r["first_row"])
    shared = sorted(key for key, row in first.items() if row != 0)
    if shared:
        raise RuntimeError(
            f"Spark read several splits in one partition, line numbers would be wrong: {shared}"
        )
    return split_bases([(source, block, n) for (source, block), n in lines.items()])


def with_line_numbers(rows: DataFrame, bases: dict[tuple[int, int], int]) -> DataFrame:
    """Add `line_number` (1-based, the header is line 1): lines before the split + index in it + 1."""
    keys = [F.lit(f"{source}\t{block}") for source, block in bases]
    lookup = F.create_map(
        *[x for key, base in zip(keys, bases.values(), strict=True) for x in (key, F.lit(base))]
    )
    split = F.concat_ws("\t", F.col("source_index").cast("string"), F.col("_block").cast("string"))
    return rows.withColumn("line_number", lookup[split] + F.col("_row") + 1)
