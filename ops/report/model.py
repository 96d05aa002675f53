"""The report's view model: KPI items, data-quality reports and archived keys in, plain numbers out.

Everything the HTML page and the terminal summary show is computed here once, from what the
pipeline publishes (docs/DESIGN.md "DynamoDB items", `reports/`, `archived_data/`); the renderers
only lay it out. Numbers arrive as DynamoDB Decimals and leave as int or float.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from music_contract import items as contract_items
from music_contract import layout, tables

# The trend chart draws this many genres (the most listened-to over the whole period) as their own
# lines and the rest as one line, their average per genre (a sum would dwarf every named genre and
# flatten their trends); the small multiples show every genre.
TREND_GENRES = 8
OTHER_GENRES = "other genres (average)"
# `archived_data/<YYYY>/<MM>/<DD>/run_id=<run_id>/<path under raw_data>` (docs/DESIGN.md layout).
_ARCHIVE_KEY = re.compile(
    rf"^{re.escape(layout.ARCHIVE_PREFIX)}(\d{{4}})/(\d{{2}})/(\d{{2}})/run_id=([^/]+)/(.+)$"
)
QUALITY_COUNTS = ("rows_read", "rows_accepted", "rows_rejected", "duplicates_dropped", "unknown_user_rows")


def plain(value: Any) -> Any:
    """DynamoDB values as JSON-ready Python: Decimal -> int when whole, else float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Totals:
    """The headline numbers."""

    listens: int
    genre_listeners: int  # distinct listeners per genre and day, summed (a listener counts per genre-day)
    listening_hours: float
    days: int
    genres: int
    runs: int
    rows_read: int
    rows_rejected: int
    archived_files: int

    @property
    def rejected_share(self) -> float | None:
        """Rejected stream rows over rows read, over every run; None when no row was read."""
        return self.rows_rejected / self.rows_read if self.rows_read else None


@dataclass(frozen=True)
class GenreSeries:
    """One genre's listens per report date (0 on a date without the genre)."""

    genre: str
    listens: tuple[float, ...]  # whole numbers, except for the average of the other genres

    @property
    def total(self) -> float:
        return sum(self.listens)


@dataclass(frozen=True)
class GenreKpi:
    genre: str
    listens: int
    listeners: int
    total_seconds: float
    avg_seconds_per_listener: float


@dataclass(frozen=True)
class RankedGenre:
    rank: int
    genre: str
    listens: int
    share: float  # of the day's listens


@dataclass(frozen=True)
class Song:
    rank: int
    track_id: str
    title: str  # the track name, or the track id when the catalogue has no name
    artists: str
    listens: int


@dataclass(frozen=True)
class DayView:
    date: str
    listens: int
    listeners: int  # summed per genre, as in Totals
    top_genres: tuple[RankedGenre, ...]
    top_songs: tuple[tuple[str, tuple[Song, ...]], ...]  # (genre, its top songs), the top genres first
    genres: tuple[GenreKpi, ...]  # every genre of the day, most listened-to first


@dataclass(frozen=True)
class RunQuality:
    """One run's data-quality report (`reports/run_id=<id>/data_quality.json`)."""

    run_id: str
    status: str
    started_at: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejected_by_reason: tuple[tuple[str, int], ...]  # every reason the report names, in contract order
    duplicates_dropped: int
    unknown_user_rows: int
    dates_affected: tuple[str, ...]
    error: str = ""

    @property
    def rejected_share(self) -> float | None:
        return self.rows_rejected / self.rows_read if self.rows_read else None


@dataclass(frozen=True)
class ArchivedRun:
    """The raw files one run archived."""

    run_id: str
    archived_on: str  # YYYY-MM-DD from the key
    keys: tuple[str, ...]


@dataclass(frozen=True)
class ReportView:
    title: str
    source: str  # where the data came from, for the page's header
    dates: tuple[str, ...]
    totals: Totals
    genres: tuple[GenreSeries, ...]  # every genre, most listened-to first
    trend: tuple[GenreSeries, ...]  # the TREND_GENRES first genres, then OTHER_GENRES when any remain
    other_genres: int  # how many genres OTHER_GENRES averages (0: every genre has its own line)
    days: tuple[DayView, ...]
    runs: tuple[RunQuality, ...]
    archives: tuple[ArchivedRun, ...]
    other_keys: tuple[str, ...] = field(default=())  # keys under archived_data/ outside the layout


def _int(value: Any) -> int:
    return int(plain(value) or 0)


def run_quality(report: dict, run_id: str = "") -> RunQuality:
    """One data-quality report as a `RunQuality` (counts missing from the report count as 0)."""
    by_reason = {str(k): _int(v) for k, v in (report.get("rejected_by_reason") or {}).items()}
    ordered = [r for r in tables.REJECT_REASONS if r in by_reason] + sorted(
        r for r in by_reason if r not in tables.REJECT_REASONS
    )
    return RunQuality(
        run_id=str(report.get("run_id") or run_id),
        status=str(report.get("status") or "unknown"),
        started_at=str(report.get("started_at") or ""),
        rows_read=_int(report.get("rows_read")),
        rows_accepted=_int(report.get("rows_accepted")),
        rows_rejected=_int(report.get("rows_rejected")),
        rejected_by_reason=tuple((r, by_reason[r]) for r in ordered),
        duplicates_dropped=_int(report.get("duplicates_dropped")),
        unknown_user_rows=_int(report.get("unknown_user_rows")),
        dates_affected=tuple(str(d) for d in report.get("dates_affected") or ()),
        error=str(report.get("error") or ""),
    )


def archived_runs(keys: Iterable[str]) -> tuple[tuple[ArchivedRun, ...], tuple[str, ...]]:
    """Archived keys grouped by run (newest archive day first); keys outside the layout apart."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    other: list[str] = []
    for key in keys:
        match = _ARCHIVE_KEY.match(key)
        if match:
            year, month, day, run_id, _ = match.groups()
            grouped[(f"{year}-{month}-{day}", run_id)].append(key)
        else:
            other.append(key)
    runs = [
        ArchivedRun(run_id=run_id, archived_on=day, keys=tuple(sorted(found)))
        for (day, run_id), found in grouped.items()
    ]
    runs.sort(key=lambda r: (r.archived_on, r.run_id), reverse=True)
    return tuple(runs), tuple(sorted(other))


def _by_type(items: Iterable[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        grouped[str(item.get("record_type"))].append(item)
    return grouped


def _genre_kpi(item: dict) -> GenreKpi:
    return GenreKpi(
        genre=str(item["genre"]),
        listens=_int(item["listen_count"]),
        listeners=_int(item["unique_listeners"]),
        total_seconds=float(plain(item["total_listening_time_seconds"])),
        avg_seconds_per_listener=float(plain(item["avg_listening_time_per_user_seconds"])),
    )


def _songs(entries: Sequence[dict]) -> tuple[Song, ...]:
    songs = [
        Song(
            rank=_int(s.get("rank")),
            track_id=str(s.get("track_id") or ""),
            title=str(s.get("track_name") or s.get("track_id") or ""),
            artists=str(s.get("artists") or ""),
            listens=_int(s.get("listen_count")),
        )
        for s in entries
    ]
    return tuple(sorted(songs, key=lambda s: s.rank))


def _day(date: str, kpis: list[GenreKpi], top_genres: Sequence[dict], top_songs: dict[str, tuple]) -> DayView:
    listens = sum(k.listens for k in kpis)
    ranked = tuple(
        RankedGenre(
            rank=_int(g.get("rank")),
            genre=str(g["genre"]),
            listens=_int(g["listen_count"]),
            share=_int(g["listen_count"]) / listens if listens else 0.0,
        )
        for g in sorted(top_genres, key=lambda g: _int(g.get("rank")))
    )
    # Top songs of the day's top genres first, then of every other genre with published songs.
    order = [g.genre for g in ranked] + sorted(set(top_songs) - {g.genre for g in ranked})
    return DayView(
        date=date,
        listens=listens,
        listeners=sum(k.listeners for k in kpis),
        top_genres=ranked,
        top_songs=tuple((genre, top_songs[genre]) for genre in order if genre in top_songs),
        genres=tuple(sorted(kpis, key=lambda k: (-k.listens, k.genre))),
    )


def _trend(genres: Sequence[GenreSeries], dates: Sequence[str]) -> tuple[GenreSeries, ...]:
    shown = list(genres[:TREND_GENRES])
    rest = genres[TREND_GENRES:]
    if rest:
        other = tuple(sum(g.listens[n] for g in rest) / len(rest) for n in range(len(dates)))
        shown.append(GenreSeries(OTHER_GENRES, other))
    return tuple(shown)


def build_view(
    items: Iterable[dict],
    quality_reports: Iterable[dict],
    archived_keys: Iterable[str],
    *,
    title: str = "Music streaming KPIs",
    source: str = "",
) -> ReportView:
    """The whole report from the table's items, the runs' quality reports and the archive listing."""
    grouped = _by_type(items)
    kpis_by_date = _kpis_by_date(grouped[contract_items.RECORD_DAILY_GENRE_KPI])
    dates = tuple(sorted(kpis_by_date))
    genres = _genre_series(kpis_by_date, dates)
    runs = tuple(
        sorted(
            (run_quality(r) for r in quality_reports), key=lambda r: (r.started_at, r.run_id), reverse=True
        )
    )
    archives, other_keys = archived_runs(archived_keys)
    return ReportView(
        title=title,
        source=source,
        dates=dates,
        totals=_totals(
            kpis_by_date, genres, runs, archived_files=sum(len(a.keys) for a in archives) + len(other_keys)
        ),
        genres=genres,
        trend=_trend(genres, dates),
        other_genres=max(0, len(genres) - TREND_GENRES),
        days=_days(grouped, kpis_by_date, dates),
        runs=runs,
        archives=archives,
        other_keys=other_keys,
    )


def _kpis_by_date(kpi_items: Iterable[dict]) -> dict[str, list[GenreKpi]]:
    """The daily genre KPI items by date."""
    kpis_by_date: dict[str, list[GenreKpi]] = defaultdict(list)
    for item in kpi_items:
        kpis_by_date[str(item["date"])].append(_genre_kpi(item))
    return kpis_by_date


def _genre_series(kpis_by_date: dict[str, list[GenreKpi]], dates: Sequence[str]) -> tuple[GenreSeries, ...]:
    """Every genre's listens per date (0 on a date without it), the most listened-to first."""
    listens: dict[str, dict[str, int]] = defaultdict(dict)
    for date, kpis in kpis_by_date.items():
        for kpi in kpis:
            listens[kpi.genre][date] = kpi.listens
    return tuple(
        sorted(
            (
                GenreSeries(genre, tuple(per_date.get(d, 0) for d in dates))
                for genre, per_date in listens.items()
            ),
            key=lambda g: (-g.total, g.genre),
        )
    )


def _days(
    grouped: dict[str, list[dict]], kpis_by_date: dict[str, list[GenreKpi]], dates: Sequence[str]
) -> tuple[DayView, ...]:
    """One `DayView` per date with KPIs, newest first, with the day's top genres and top songs."""
    top_genres = {
        str(i["date"]): i.get("top_genres") or [] for i in grouped[contract_items.RECORD_TOP_GENRES]
    }
    songs_by_date: dict[str, dict[str, tuple[Song, ...]]] = defaultdict(dict)
    for item in grouped[contract_items.RECORD_TOP_SONGS]:
        songs_by_date[str(item["date"])][str(item["genre"])] = _songs(item.get("top_songs") or [])
    return tuple(
        _day(d, kpis_by_date[d], top_genres.get(d, []), songs_by_date.get(d, {})) for d in reversed(dates)
    )


def _totals(
    kpis_by_date: dict[str, list[GenreKpi]],
    genres: Sequence[GenreSeries],
    runs: Sequence[RunQuality],
    *,
    archived_files: int,
) -> Totals:
    """The headline numbers over every date, genre and run."""
    every_kpi = [k for kpis in kpis_by_date.values() for k in kpis]
    return Totals(
        listens=sum(k.listens for k in every_kpi),
        genre_listeners=sum(k.listeners for k in every_kpi),
        listening_hours=sum(k.total_seconds for k in every_kpi) / 3600,
        days=len(kpis_by_date),
        genres=len(genres),
        runs=len(runs),
        rows_read=sum(r.rows_read for r in runs),
        rows_rejected=sum(r.rows_rejected for r in runs),
        archived_files=archived_files,
    )
