"""The report as one self-contained HTML file: inline CSS and SVG, no scripts, no fonts, no network.

Every text that comes from data (genres, songs, artists, run ids, keys, errors) goes through
`_esc`: the names are whatever the data producer's CSV files held.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ops.report.model import OTHER_GENRES, DayView, GenreSeries, ReportView, RunQuality

# Tableau 10, a palette made to tell lines apart (also for the common colour-vision deficiencies);
# "other genres" is grey so that it reads as the rest, not as one more genre.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7")
OTHER_COLOUR = "#9aa0a6"
QUIET_COLOUR = "#6b8fb5"
ACCEPTED_COLOUR = "#59a14f"
REJECT_COLOURS = ("#e15759", "#f28e2b", "#b07aa1", "#9c755f", "#edc948", "#ff9da7")
ARCHIVE_KEYS_SHOWN = 200  # per run; the rest is counted
NONE_PUBLISHED = '<p class="empty">none published</p>'
TOP_SONG_GENRES = 3  # a day shows the top songs of its first three genres
DAYS_SHOWN = 14  # day cards for the newest days; the trend and the small multiples cover every day
POINTS_UP_TO = 60  # the trend marks each day with a dot up to this many days (beyond, the dots crowd)

# The page's styles, read at render time and inlined in its <style>: the report stays one file.
STYLESHEET = Path(__file__).with_name("report.css")


def stylesheet() -> str:
    """The page's CSS (`STYLESHEET`)."""
    return STYLESHEET.read_text(encoding="utf-8")


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _when(iso: str) -> str:
    """``2026-11-20T07:00:00+00:00`` as ``2026-11-20 07:00 UTC`` (other texts unchanged)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def genre_colours(view: ReportView) -> dict[str, str]:
    """The colour of each genre drawn in the trend chart (the small multiples reuse it)."""
    colours = {
        s.genre: PALETTE[n % len(PALETTE)] for n, s in enumerate(view.trend) if s.genre != OTHER_GENRES
    }
    colours[OTHER_GENRES] = OTHER_COLOUR
    return colours


def _nice_top(value: float) -> tuple[float, float]:
    """An axis top at or above `value` and its tick step (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1, 1
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return step * math.ceil(value / step), step


def _cards(view: ReportView) -> str:
    t = view.totals
    share = t.rejected_share
    span = (
        f'<span class="nowrap">{_esc(view.dates[0])}</span> to <span class="nowrap">{_esc(view.dates[-1])}</span>'
        if view.dates
        else "no KPIs yet"
    )
    # Red when a run failed, amber when rows were rejected: the job fails runs above its limit.
    level = "failed" if any(r.status == "failed" for r in view.runs) else "caution" if share else ""
    cards = [  # (label, value, note as markup, class)
        ("Listens", _n(t.listens), "accepted stream events", ""),
        ("Listeners", _n(t.genre_listeners), "distinct per genre and day, summed", ""),
        (
            "Listening time",
            f"{t.listening_hours:,.{0 if t.listening_hours >= 100 else 1}f} h",
            "hours, full plays",
            "",
        ),
        ("Days", _n(t.days), span, ""),
        ("Genres", _n(t.genres), "with at least one listen", ""),
        ("Runs", _n(t.runs), "with a data-quality report", ""),
        ("Rejected", _share(share), f"{_n(t.rows_rejected)} of {_n(t.rows_read)} rows read", level),
        ("Archived", _n(t.archived_files), "raw files after processing", ""),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card {cls}"><div class="label">{_esc(label)}</div><div class="value">{_esc(value)}</div>'
            f'<div class="note">{note}</div></div>'
            for label, value, note, cls in cards
        )
        + "</div>"
    )


@dataclass(frozen=True)
class _TrendPlot:
    """The trend chart's frame: the SVG's size and margins, days across (`x`) and listens up (`y`)."""

    days: int
    y_top: float
    width: int = 960
    height: int = 320
    left: int = 56
    right: int = 20
    top: int = 14
    bottom: int = 34

    def x(self, n: int) -> float:
        plot_w = self.width - self.left - self.right
        return self.left + (plot_w / 2 if self.days == 1 else plot_w * n / (self.days - 1))

    def y(self, v: float) -> float:
        plot_h = self.height - self.top - self.bottom
        return self.top + plot_h * (1 - v / self.y_top)


def _trend_chart(view: ReportView, colours: dict[str, str]) -> str:
    if not view.dates:
        return '<section><h2>Listens per genre</h2><p class="empty">No KPI items yet.</p></section>'
    y_top, step = _nice_top(max(max(s.listens) for s in view.trend))
    plot = _TrendPlot(days=len(view.dates), y_top=y_top)
    parts = [
        f'<svg viewBox="0 0 {plot.width} {plot.height}" width="100%" role="img" '
        f'aria-label="Listens per genre and day, {plot.days} day(s)">',
        *_trend_axes(plot, step, view.dates),
    ]
    # The rest first, so the named genres are drawn over it.
    for series in sorted(view.trend, key=lambda s: s.genre != OTHER_GENRES):
        parts += _trend_line(plot, series, colours[series.genre], view.dates)
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="name"><span class="swatch" style="background:{colours[s.genre]}"></span>'
        f'{_esc(s.genre)}</span><span class="meta num">{_n(s.total)}</span></li>'
        for s in view.trend
    )
    return (
        f'<section id="trend"><h2>Listens per genre over the days</h2><p class="meta">{_esc(_trend_note(view))}</p>'
        f'<div class="trend"><div>{"".join(parts)}</div><ul class="legend">{legend}</ul></div></section>'
    )


def _trend_axes(plot: _TrendPlot, step: float, dates: Sequence[str]) -> list[str]:
    """Grid lines with their listens every `step`, and at most about 8 date labels."""
    parts = []
    for k in range(round(plot.y_top / step) + 1):
        v = k * step
        parts.append(
            f'<line x1="{plot.left}" x2="{plot.width - plot.right}" y1="{plot.y(v):.1f}" y2="{plot.y(v):.1f}" '
            f'stroke="#e4e7eb"/><text x="{plot.left - 8}" y="{plot.y(v) + 4:.1f}" text-anchor="end">{_n(v)}</text>'
        )
    count = plot.days
    label_every = max(1, math.ceil(count / 8))
    for n, date in enumerate(dates):
        if n % label_every == 0 or n == count - 1:
            # The first and last labels align to the plot's edges, so that neither is cut off.
            anchor = "middle" if count == 1 else {0: "start", count - 1: "end"}.get(n, "middle")
            parts.append(
                f'<text x="{plot.x(n):.1f}" y="{plot.height - 10}" text-anchor="{anchor}">{_esc(date)}</text>'
            )
    return parts


def _trend_line(plot: _TrendPlot, series: GenreSeries, colour: str, dates: Sequence[str]) -> list[str]:
    """One genre's line (dashed for the other genres), and a dot per day with its listens on hover."""
    parts = []
    if plot.days > 1:
        dash = ' stroke-dasharray="6 4"' if series.genre == OTHER_GENRES else ""
        points = " ".join(f"{plot.x(n):.1f},{plot.y(v):.1f}" for n, v in enumerate(series.listens))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5" '
            f'stroke-linejoin="round"{dash}/>'
        )
    for n, v in enumerate(series.listens if plot.days <= POINTS_UP_TO else ()):
        parts.append(
            f'<circle cx="{plot.x(n):.1f}" cy="{plot.y(v):.1f}" r="3.5" fill="{colour}">'
            f"<title>{_esc(series.genre)}, {_esc(dates[n])}: {_n(v)} listens</title></circle>"
        )
    return parts


def _trend_note(view: ReportView) -> str:
    """What the trend chart's lines are."""
    if view.other_genres:
        return (
            f"The {len(view.trend) - 1} most listened-to genres, and the average of the other "
            f"{view.other_genres} (dashed). Listens over the whole period in the legend."
        )
    return "Every genre; listens over the whole period in the legend."


def _sparkline(series: GenreSeries, colour: str) -> str:
    width, height, pad = 120, 34, 3
    top = max(series.listens) or 1
    count = len(series.listens)
    coords = [
        (
            width / 2 if count == 1 else pad + (width - 2 * pad) * n / (count - 1),
            pad + (height - 2 * pad) * (1 - v / top),
        )
        for n, v in enumerate(series.listens)
    ]
    points = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
    last_x, last_y = coords[-1]
    line = (
        f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
        f'vector-effect="non-scaling-stroke" stroke-linejoin="round"/>'
        if count > 1
        else ""
    )
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" height="{height}" preserveAspectRatio="none" '
        f'aria-hidden="true">{line}<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="{colour}"/></svg>'
    )


def _multiples(view: ReportView, colours: dict[str, str]) -> str:
    if not view.genres:
        return ""
    cells = []
    for series in view.genres:
        change = ""
        if len(series.listens) > 1 and series.listens[0]:
            delta = series.listens[-1] / series.listens[0] - 1
            change = f" · {delta:+.0%}"
        cells.append(
            f'<div class="multiple"><div class="name" title="{_esc(series.genre)}">{_esc(series.genre)}</div>'
            f'<div class="sub">{_n(series.total)} listens{_esc(change)}</div>'
            f"{_sparkline(series, colours.get(series.genre, QUIET_COLOUR))}</div>"
        )
    return (
        f'<section id="genres"><h2>Every genre, day by day</h2><p class="meta">{len(view.genres)} genres, most listened-to '
        f'first; each line on its own scale, with the change from the first to the last day.</p><div class="multiples">{"".join(cells)}</div></section>'
    )


def _day(day: DayView) -> str:
    top = max((g.listens for g in day.top_genres), default=0) or 1
    bars = "".join(
        f'<span class="rank">{g.rank}</span><span class="name">{_esc(g.genre)}</span>'
        f'<span class="bar" style="width:{100 * g.listens / top:.1f}%"></span>'
        f'<span class="num">{_n(g.listens)} <span class="meta">{g.share:.0%}</span></span>'
        for g in day.top_genres
    )
    songs = []
    for genre, entries in day.top_songs[:TOP_SONG_GENRES]:
        items = "".join(
            f"<li>{_esc(s.title)}"
            + (f' <span class="artists">— {_esc(s.artists.replace(";", ", "))}</span>' if s.artists else "")
            + f' <span class="meta">· {_n(s.listens)}</span></li>'
            for s in entries
        )
        songs.append(f'<div class="genre-tag">{_esc(genre)}</div><ol class="songs">{items}</ol>')
    rows = "".join(
        f"<tr><td>{_esc(k.genre)}</td><td>{_n(k.listens)}</td><td>{_n(k.listeners)}</td>"
        f"<td>{k.total_seconds / 3600:,.1f}</td><td>{k.avg_seconds_per_listener:,.0f}</td></tr>"
        for k in day.genres
    )
    return (
        f"<section><h2>{_esc(day.date)}</h2>"
        f'<p class="meta">{_n(day.listens)} listens · {len(day.genres)} genres</p>'
        f'<h3>Top genres</h3><div class="bars">{bars or NONE_PUBLISHED}</div>'
        f"<h3>Top songs of the top {TOP_SONG_GENRES} genres</h3>{''.join(songs) or NONE_PUBLISHED}"
        f"<details><summary>All {len(day.genres)} genres</summary><table><tr><th>genre</th><th>listens</th>"
        f"<th>listeners</th><th>hours</th><th>avg s per listener</th></tr>{rows}</table></details></section>"
    )


def _days(view: ReportView) -> str:
    if not view.days:
        return ""
    shown = view.days[:DAYS_SHOWN]
    note = (
        f'<p class="meta">The {DAYS_SHOWN} newest of {len(view.days)} days; the charts above cover them all.</p>'
        if len(view.days) > DAYS_SHOWN
        else ""
    )
    return f'<h2 id="days">Day by day</h2>{note}<div class="days">{"".join(_day(d) for d in shown)}</div>'


def _run(run: RunQuality) -> str:
    read = run.rows_read or 1
    segments = [("accepted", run.rows_accepted, ACCEPTED_COLOUR)] + [
        (reason.replace("_", " "), count, REJECT_COLOURS[n % len(REJECT_COLOURS)])
        for n, (reason, count) in enumerate(run.rejected_by_reason)
    ]
    stack = "".join(
        f'<span style="width:{100 * count / read:.2f}%;background:{colour}" title="{_esc(label)}: {_n(count)}">'
        "</span>"
        for label, count, colour in segments
        if count
    )
    legend = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{_esc(label)} {_n(count)}</li>'
        for label, count, colour in segments
        if count or label == "accepted"
    )
    counts = [
        ("rows read", _n(run.rows_read)),
        ("accepted", _n(run.rows_accepted)),
        ("rejected", f"{_n(run.rows_rejected)} ({_share(run.rejected_share)})"),
        ("duplicates dropped", _n(run.duplicates_dropped)),
        ("unknown user rows (kept)", _n(run.unknown_user_rows)),
        ("dates affected", ", ".join(run.dates_affected) or "none"),
    ]
    dl = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in counts)
    error = f'<div class="error">{_esc(run.error)}</div>' if run.error else ""
    return (
        f'<div class="run"><div><span class="badge {_esc(run.status)}">{_esc(run.status)}</span> '
        f'<span class="meta">{_esc(_when(run.started_at))}</span></div><div class="run-id">{_esc(run.run_id)}</div>'
        f'<div class="stack">{stack}</div><ul class="legend">{legend}</ul><dl class="counts">{dl}</dl>'
        f"{error}</div>"
    )


def _quality(view: ReportView) -> str:
    body = "".join(_run(r) for r in view.runs) or '<p class="empty">No data-quality reports yet.</p>'
    return f'<section id="quality"><h2>Data quality per run</h2><p class="meta">Newest first.</p><div class="runs">{body}</div></section>'


def _key_list(keys: Sequence[str]) -> str:
    shown = "".join(f"<li>{_esc(k)}</li>" for k in keys[:ARCHIVE_KEYS_SHOWN])
    more = f"<li>… and {len(keys) - ARCHIVE_KEYS_SHOWN} more</li>" if len(keys) > ARCHIVE_KEYS_SHOWN else ""
    return f'<ul class="keys">{shown}{more}</ul>'


def _archive(view: ReportView) -> str:
    if not view.archives and not view.other_keys:
        return '<section id="archive"><h2>Archived raw files</h2><p class="empty">Nothing archived yet.</p></section>'
    rows = "".join(
        f'<tr><td><span class="run-id">{_esc(a.run_id)}</span>'
        f"<details><summary>{len(a.keys)} file(s)</summary>{_key_list(a.keys)}</details></td>"
        f"<td>{_esc(a.archived_on)}</td><td>{_n(len(a.keys))}</td></tr>"
        for a in view.archives
    )
    other = (
        f"<details><summary>{len(view.other_keys)} key(s) outside the archive layout</summary>"
        f"{_key_list(view.other_keys)}</details>"
        if view.other_keys
        else ""
    )
    return (
        '<section id="archive"><h2>Archived raw files</h2>'
        f"<table><tr><th>run</th><th>archived on</th><th>files</th></tr>{rows}</table>{other}</section>"
    )


def render_html(view: ReportView, generated_at: datetime | None = None) -> str:
    """The whole page."""
    colours = genre_colours(view)
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    source = f" · {view.source}" if view.source else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(view.title)}</title><style>{stylesheet()}</style></head><body><main>"
        f'<header class="top"><h1>{_esc(view.title)}</h1><span class="meta">generated {_esc(when)}'
        f"{_esc(source)}</span></header>"
        f"{_cards(view)}{_trend_chart(view, colours)}{_multiples(view, colours)}{_days(view)}"
        f"{_quality(view)}{_archive(view)}"
        "<footer>Daily genre KPIs from the KPI table, data quality from reports/, archive from "
        "archived_data/ (docs/DESIGN.md).</footer></main></body></html>\n"
    )


def write_html(path: Path, view: ReportView, generated_at: datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(view, generated_at), encoding="utf-8")
    return path
