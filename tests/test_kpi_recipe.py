"""The KPI recipe (docs/DESIGN.md, "How to change it", "Add a KPI") is complete.

A KPI measure is one entry of the contract's `KPI_MEASURE_TYPES`. What derives from it (the
`daily_genre_kpis` columns, the items' number attributes, the QuickSight KPI table) is checked to
derive from it; every place that must be written by hand is checked to name each measure, and a
measure missing from one fails naming the place, so a KPI added to the contract alone fails here
once per place the recipe lists.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from infra.analytics import SAVED_QUERIES
from music_contract import items as contract_items
from music_contract import layout, tables
from music_contract.items import KPI_MEASURE_TYPES

REPO = Path(__file__).resolve().parents[1]
DESIGN = REPO / "docs" / "DESIGN.md"


def _source(path: str, function: str | None = None) -> str:
    """A file's text, or the source of one of its top-level functions."""
    text = (REPO / path).read_text()
    if function is None:
        return text
    node = next(
        n
        for n in ast.parse(text).body
        if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == function
    )
    return ast.get_source_segment(text, node)


def _section(heading: str) -> str:
    text = DESIGN.read_text()
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _saved_queries_of_the_kpis() -> str:
    return "\n".join(q.sql for q in SAVED_QUERIES if re.search(r"\bFROM\s+daily_genre_kpis\b", q.sql))


@dataclass(frozen=True)
class Place:
    """A place a new KPI must be written by hand, and the text that must name each measure."""

    name: str
    text: Callable[[], str]


HAND_WRITTEN = (
    Place("docs/DESIGN.md, KPI definitions", lambda: _section("KPI definitions")),
    Place("docs/DESIGN.md, DynamoDB items", lambda: _section("DynamoDB items")),
    Place(
        "glue_scripts/music_kpis/transforms.py, daily_genre_kpis",
        lambda: _source("glue_scripts/music_kpis/transforms.py", "daily_genre_kpis"),
    ),
    Place(
        "ops/report/model.py, _genre_kpi (the report's model)",
        lambda: _source("ops/report/model.py", "_genre_kpi"),
    ),
    Place("infra/analytics.py, the saved query over daily_genre_kpis", _saved_queries_of_the_kpis),
    Place(
        "benchmarks/glue_kpis.py, spark_job (the job's KPIs the benchmark compares)",
        lambda: _source("benchmarks/glue_kpis.py", "spark_job"),
    ),
    Place(
        "tests/glue/test_transforms.py (the definition on hand-made rows)",
        lambda: _source("tests/glue/test_transforms.py"),
    ),
    Place(
        "tests/glue/bucket.py, _kpi (the sample run's expected items)",
        lambda: _source("tests/glue/bucket.py", "_kpi"),
    ),
    Place(
        "ops/kpi_oracle.py (the independent recomputation)",
        lambda: _source("ops/kpi_oracle.py"),
    ),
)


def _reference_kpi_selects() -> list[tuple[str, str]]:
    """The benchmark's independent copies: (where, the final SELECT list of each KPI query)."""
    tree = ast.parse(_source("benchmarks/kpi_references.py"))
    queries = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "JOIN listeners l" in node.value
    ]
    selects = []
    for sql in queries:
        final = sql[sql.rindex("SELECT") + len("SELECT") : sql.rindex("FROM totals")]
        where = "DuckDB" if "//" in final else "Spark SQL"
        selects.append((where, final))
    return selects


def _top_level_items(select_list: str) -> list[str]:
    items, depth, current = [], 0, ""
    for char in select_list:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    return [*items, current.strip()]


def recipe_problems(measures: Sequence[str]) -> list[str]:
    """Every place of the recipe a measure does not reach, naming the measure and the place."""
    problems = [
        f"{measure}: not in {place.name}"
        for place in HAND_WRITTEN
        for measure in measures
        if not re.search(rf"\b{re.escape(measure)}\b", place.text())
    ]
    for where, select in _reference_kpi_selects():
        columns = len(_top_level_items(select)) - 2  # listen_date, genre
        if columns != len(measures):
            problems.append(
                f"benchmarks/kpi_references.py, the {where} reference query computes {columns} KPI columns, "
                f"the contract has {len(measures)} measures: compute the new one there too"
            )
    return problems


def test_every_measure_of_the_contract_reaches_every_place_of_the_recipe():
    assert recipe_problems(contract_items.KPI_MEASURES) == []


def test_the_benchmark_has_both_independent_copies():
    assert sorted(where for where, _ in _reference_kpi_selects()) == ["DuckDB", "Spark SQL"]


def test_a_measure_added_to_the_contract_alone_fails_naming_each_place():
    problems = recipe_problems((*contract_items.KPI_MEASURES, "skip_count"))
    for place in HAND_WRITTEN:
        assert f"skip_count: not in {place.name}" in problems
    assert sum("reference query computes 4 KPI columns" in p for p in problems) == 2
    assert len(problems) == len(HAND_WRITTEN) + 2


def test_the_derived_places_follow_the_contracts_measures():
    from music_kpis.dynamo import kpi_items

    # The curated table (and so the Glue table the stack creates and the QuickSight dataset).
    columns = tables.CURATED_TABLES["daily_genre_kpis"].columns
    assert columns == (
        ("genre", "string"),
        *KPI_MEASURE_TYPES.items(),
        ("run_id", "string"),
        ("updated_at", "string"),
    )
    # The item: every measure, as a DynamoDB number.
    row = {
        layout.PARTITION_COLUMN: "2026-11-20",
        "genre": "pop",
        **dict.fromkeys(contract_items.KPI_MEASURES, 1),
    }
    (item,) = kpi_items([row], [], [], run_id="r", updated_at="t")
    assert {m: item[m] for m in contract_items.KPI_MEASURES} == dict.fromkeys(
        contract_items.KPI_MEASURES, Decimal(1)
    )
    # The QuickSight KPI table lists the contract's measures (tests/infra/test_quicksight_dashboard.py
    # checks the synthesized dashboard).
    assert "items.KPI_MEASURES" in _source("infra/quicksight_dashboard.py")


def test_the_recipe_lists_every_hand_written_place():
    recipe = _section("How to change it").split("**Add a KPI**", 1)[1].split("\n**", 1)[0]
    for place in HAND_WRITTEN:
        path = place.name.split(",")[0].split(" ")[0]
        if path != "docs/DESIGN.md":  # the recipe's own page ("here")
            assert path in recipe, f"the recipe does not list {path}"
    assert "benchmarks/kpi_references.py" in recipe
    assert "tests/test_kpi_recipe.py" in recipe
