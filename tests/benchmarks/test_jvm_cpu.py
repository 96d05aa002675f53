"""The benchmark's CPU breakdown puts each JVM thread's time under its kind, and the rest under other."""

import pytest

from benchmarks.jvm_cpu import OTHER, cpu_by_kind, jvm_thread_cpu, kind_of


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("C2 CompilerThre", "JIT compiler"),
        ("C1 CompilerThre", "JIT compiler"),
        ("Executor task l", "tasks"),
        ("GC Thread#1", "GC"),
        ("G1 Conc#0", "GC"),
        ("VM Thread", "GC"),
        ("Thread-4", OTHER),  # py4j's driver thread
        ("dag-scheduler-e", OTHER),
    ],
)
def test_threads_are_told_apart_by_their_names(name, kind):
    assert kind_of(name) == kind


def test_the_run_is_what_changed_between_two_snapshots():
    before = {(1, 10): ("C2 CompilerThre", 5.0), (1, 11): ("Executor task l", 1.0)}
    after = {
        (1, 10): ("C2 CompilerThre", 9.0),  # 4 s compiling during the run
        (1, 11): ("Executor task l", 3.5),
        (1, 12): ("Executor task l", 2.0),  # started during the run
        (1, 13): ("GC Thread#0", 0.5),
        (1, 14): ("Thread-4", 7.0),
    }
    assert cpu_by_kind(before, after, total_cpu=12.0) == {
        "JIT compiler": 4.0,
        "tasks": 4.5,
        "GC": 0.5,
        OTHER: 3.0,  # the total less the kinds: the driver thread, the Python process, ended threads
    }


def test_no_jvm_thread_no_breakdown():
    assert cpu_by_kind({}, {}, total_cpu=3.0) == {}


def test_a_snapshot_names_each_thread_of_a_java_child():
    # Whatever JVM this test session has (the shared Spark session, or none): well-formed entries.
    for (pid, tid), (name, seconds) in jvm_thread_cpu().items():
        assert pid > 0
        assert tid > 0
        assert name
        assert seconds >= 0
