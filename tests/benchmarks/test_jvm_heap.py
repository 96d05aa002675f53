"""The benchmark's heap figure is read from the JVM's GC log: every pause counts, nothing else."""

from benchmarks.jvm_heap import gc_log_option, heap_after_gc_peak_mb

# Lines as Java 17's -Xlog:gc writes them (G1: young, remark and cleanup pauses, one full GC).
GC_LOG = """\
[0.010s][info][gc] Using G1
[2.531s][info][gc] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 24M->5M(260M) 4.101ms
[9.001s][info][gc] GC(7) Pause Young (Concurrent Start) (G1 Humongous Allocation) 1361M->2943M(4056M) 7.169ms
[9.120s][info][gc] GC(8) Concurrent Mark Cycle
[9.300s][info][gc] GC(8) Pause Remark 3050M->2990M(4056M) 3.011ms
[9.310s][info][gc] GC(8) Pause Cleanup 2990M->2990M(4056M) 0.101ms
[12.70s][info][gc] GC(9) Pause Full (System.gc()) 3100M->812M(4056M) 210.3ms
"""


def test_peak_is_the_largest_heap_after_any_pause(tmp_path):
    log = tmp_path / "gc.log"
    log.write_text(GC_LOG)
    assert heap_after_gc_peak_mb(log) == 2990.0  # the remark's "after", not a "before" or a heap size


def test_no_collection_gives_no_figure(tmp_path):
    log = tmp_path / "gc.log"
    log.write_text("[0.010s][info][gc] Using G1\n")
    assert heap_after_gc_peak_mb(log) is None
    assert heap_after_gc_peak_mb(tmp_path / "missing.log") is None


def test_the_option_names_the_log_file(tmp_path):
    assert gc_log_option(tmp_path / "gc.log") == f"-Xlog:gc:file={tmp_path.resolve() / 'gc.log'}"
