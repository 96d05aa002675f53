"""Benchmarks (`make bench`): each module's `run()` returns `BenchResult` rows for one table."""

import toolchain

# Every suite, run by make or as `python -m benchmarks.<suite>`, and every child process it starts
# measures the pinned Java and Node, never the system's.
toolchain.use()
