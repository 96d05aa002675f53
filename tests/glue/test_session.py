"""music_kpis.session: the shuffle settings the job derives from its input size."""

from __future__ import annotations

from music_kpis.session import INPUT_BYTES_PER_SHUFFLE_PARTITION, shuffle_settings


def test_a_daily_batch_gets_one_shuffle_partition_per_core_not_spark_s_200():
    settings = shuffle_settings(50 * 2**20, parallelism=4)
    assert settings["spark.sql.shuffle.partitions"] == "4"
    assert settings["spark.sql.adaptive.enabled"] == "true"  # merges what is still too small
    assert settings["spark.sql.adaptive.coalescePartitions.enabled"] == "true"


def test_a_large_input_gets_a_partition_per_slice_of_input():
    big = 100 * INPUT_BYTES_PER_SHUFFLE_PARTITION + 1
    assert shuffle_settings(big, parallelism=36)["spark.sql.shuffle.partitions"] == "101"
    assert shuffle_settings(0, parallelism=8)["spark.sql.shuffle.partitions"] == "8"
