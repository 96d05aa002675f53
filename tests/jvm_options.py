"""JVM options of the tests' Spark drivers (the shared session in tests/conftest.py, the fault runs).

The tests' Spark work is a few rows to a few thousand: Spark's planning and code generation, not its
peak speed, dominate, so the JVM's client compiler alone (no C2 compiles competing for the two
cores) runs it faster. Test-side only: the demo, `make airflow` and the benchmark keep the default.
"""

CLIENT_COMPILER_ONLY = "-XX:TieredStopAtLevel=1"
