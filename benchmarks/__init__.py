"""Benchmarks (`make bench`): each module's `run()` returns `BenchResult` rows for one table."""
