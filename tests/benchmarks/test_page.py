"""BENCHMARKS.md: a new `make bench` table replaces the old one and keeps the hand-written analysis."""

from benchmarks.__main__ import benchmarks_page

OLD_PAGE = """# Benchmarks

Latest `make bench` on a machine, yesterday.
Ratios are time / baseline time (below 1: faster than the baseline).

| what | time s |
| ---- | ------ |
| old  | 9.00   |

## Where the time goes (hand-written)

Measured by hand: keep me.
"""


def test_a_new_table_replaces_the_old_one_and_keeps_the_hand_written_sections():
    page = benchmarks_page(
        "| what | time s |\n| ---- | ------ |\n| new  | 1.00   |", "Latest run today.", OLD_PAGE
    )

    assert "| new  | 1.00   |" in page
    assert "| old" not in page
    assert "Latest run today." in page
    assert "yesterday" not in page
    assert page.endswith("## Where the time goes (hand-written)\n\nMeasured by hand: keep me.\n")


def test_a_first_page_is_the_table_alone():
    page = benchmarks_page("| what |", "Latest run today.")

    assert page.startswith("# Benchmarks\n\nLatest run today.\n")
    assert page.endswith("| what |\n")
    assert "## " not in page
