"""What the demo shows: a terminal summary and a self-contained HTML page of the KPIs.

Both read the KPI items back from DynamoDB (as a user would) and the runs' data-quality reports.
The HTML page has inline SVG charts only: no scripts, no network, it opens anywhere.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import music_contract as contract


def plain(value: Any) -> Any:
    """DynamoDB values as JSON-ready Python: Decimal -> int when whole, else float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def write_items_json(path: Path, items: Sequence[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(items, key=lambda item: (item["pk"], item["sk"]))
    path.write_text(json.dumps([plain(i) for i in ordered], indent=2, sort_keys=True) + "\n")


def _by_type(items: Iterable[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        grouped[item["record_type"]].append(item)
    return grouped


def terminal_summary(items: Sequence[dict], quality: Sequence[dict], archived: Sequence[str]) -> str:
    """A readable text summary: per day, top genres, per-genre KPIs and top songs; then data quality."""
    grouped = _by_type(items)
    kpis_by_date: dict[str, list[dict]] = defaultdict(list)
    for item in grouped[contract.RECORD_DAILY_GENRE_KPI]:
        kpis_by_date[item["date"]].append(item)
    top_songs = {(i["date"], i["genre"]): i["top_songs"] for i in grouped[contract.RECORD_TOP_SONGS]}
    top_genres = {i["date"]: i["top_genres"] for i in grouped[contract.RECORD_TOP_GENRES]}
    lines: list[str] = []
    for day in sorted(kpis_by_date):
        lines.append(f"\n=== {day} ===")
        ranking = ", ".join(
            f"{g['rank']}. {g['genre']} ({g['listen_count']})" for g in top_genres.get(day, [])
        )
        lines.append(f"Top genres: {ranking}")
        lines.append(
            f"  {'genre':<16}{'listens':>9}{'listeners':>11}{'total s':>14}{'avg s/user':>12}  top songs"
        )
        rows = sorted(kpis_by_date[day], key=lambda i: (-int(i["listen_count"]), i["genre"]))
        for item in rows:
            songs = "; ".join(
                f"{s['track_name'] or s['track_id']} ({s['listen_count']})"
                for s in top_songs.get((day, item["genre"]), [])
            )
            lines.append(
                f"  {item['genre']:<16}{item['listen_count']:>9}{item['unique_listeners']:>11}"
                f"{item['total_listening_time_seconds']:>14}{item['avg_listening_time_per_user_seconds']:>12}"
                f"  {songs[:70]}"
            )
    for report in quality:
        lines.append(f"\nData quality, run {report.get('run_id')}: " + quality_line(report))
    lines.append(f"\nArchived {len(archived)} raw file(s):")
    lines.extend(f"  {key}" for key in archived)
    return "\n".join(lines)


QUALITY_COUNTS = ("rows_read", "rows_accepted", "rows_rejected", "duplicates_dropped", "unknown_user_rows")


def quality_line(report: dict) -> str:
    text = ", ".join(f"{name.replace('_', ' ')} {report.get(name, 0)}" for name in QUALITY_COUNTS)
    rejected = {k: v for k, v in (report.get("rejected_by_reason") or {}).items() if v}
    if rejected:
        text += "; rejected by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(rejected.items()))
    dates = report.get("dates_affected") or []
    return f"{text}; dates affected: {', '.join(dates) or 'none'}"


def _bar_chart(title: str, bars: Sequence[tuple[str, float]], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG."""
    if not bars:
        return ""
    width, label_width, row_height = 720, 170, 22
    top = max(value for _, value in bars) or 1
    height = row_height * len(bars) + 10
    parts = [f"<figure><figcaption>{html.escape(title)}</figcaption>"]
    parts.append(f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">')
    for n, (label, value) in enumerate(bars):
        y = n * row_height + 5
        bar = (width - label_width - 90) * value / top
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{html.escape(str(label))}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{bar:.1f}" height="{row_height - 6}" rx="3"></rect>'
            f'<text x="{label_width + bar + 6:.1f}" y="{y + 15}">{value:g}{unit}</text>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def write_html(path: Path, items: Sequence[dict], quality: Sequence[dict], archived: Sequence[str]) -> None:
    """A self-contained page: per day, top genres and per-genre KPIs; then data-quality counts."""
    items = [plain(i) for i in items]
    grouped = _by_type(items)
    sections: list[str] = []
    by_date: dict[str, list[dict]] = defaultdict(list)
    for item in grouped[contract.RECORD_DAILY_GENRE_KPI]:
        by_date[item["date"]].append(item)
    top_genres = {i["date"]: i["top_genres"] for i in grouped[contract.RECORD_TOP_GENRES]}
    for day in sorted(by_date):
        kpis = sorted(by_date[day], key=lambda i: (-i["listen_count"], i["genre"]))
        sections.append(f"<h2>{html.escape(day)}</h2>")
        sections.append(
            _bar_chart(
                "Top genres (listens)", [(g["genre"], g["listen_count"]) for g in top_genres.get(day, [])]
            )
        )
        sections.append(_bar_chart("Listens per genre", [(k["genre"], k["listen_count"]) for k in kpis]))
        sections.append(
            _bar_chart(
                "Average listening time per user (s)",
                [(k["genre"], k["avg_listening_time_per_user_seconds"]) for k in kpis],
                " s",
            )
        )
        rows = "".join(
            f"<tr><td>{html.escape(k['genre'])}</td><td>{k['listen_count']}</td><td>{k['unique_listeners']}</td>"
            f"<td>{k['total_listening_time_seconds']}</td><td>{k['avg_listening_time_per_user_seconds']}</td></tr>"
            for k in kpis
        )
        sections.append(
            "<table><tr><th>genre</th><th>listens</th><th>unique listeners</th><th>total s</th>"
            f"<th>avg s per user</th></tr>{rows}</table>"
        )
    sections.append("<h2>Data quality</h2>")
    for report in quality:
        rejected = report.get("rejected_by_reason") or {}
        counts = [(name.replace("_", " "), report.get(name, 0)) for name in QUALITY_COUNTS]
        sections.append(_bar_chart(f"Run {report.get('run_id')}: counts", counts))
        sections.append(
            _bar_chart(f"Run {report.get('run_id')}: rejected rows by reason", sorted(rejected.items()))
        )
    archived_list = "".join(f"<li><code>{html.escape(k)}</code></li>" for k in archived)
    sections.append(f"<h2>Archived raw files</h2><ul>{archived_list}</ul>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Music streaming KPIs</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
rect {{ fill: #3b7dd8; }} svg text {{ font-size: 12px; }}
table {{ border-collapse: collapse; margin: 1rem 0; }} td, th {{ border: 1px solid #ccc; padding: 2px 8px; }}
td {{ text-align: right; }} td:first-child {{ text-align: left; }}
figure {{ margin: 1rem 0; }} figcaption {{ font-weight: 600; }}
</style></head><body>
<h1>Daily genre KPIs</h1>
<p>Read back from the KPI table after the demo's runs; {len(items)} items.</p>
{"".join(sections)}
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
