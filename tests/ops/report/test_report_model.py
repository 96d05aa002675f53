"""The report's numbers from a fixed data set (computed by hand), its escaping, and its text form."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest

from music_contract import tables
from ops.report import model, render
from ops.report.model import OTHER_GENRES, GenreSeries, RankedGenre, Song, build_view
from ops.report.render import render_html
from ops.report.text import quality_line, render_text
from tests.ops.report.report_data import (
    FIRST_DAY,
    HOSTILE_GENRE,
    HOSTILE_SONG,
    SECOND_DAY,
    SMALL_ARCHIVED,
    SMALL_ITEMS,
    SMALL_REPORTS,
    kpi,
    top_genres,
)


@pytest.fixture
def view():
    return build_view(SMALL_ITEMS, SMALL_REPORTS, SMALL_ARCHIVED, source="t")


def test_headline_numbers(view):
    t = view.totals
    assert t.listens == 5 + 3 + 2 + 4 + 1
    assert t.genre_listeners == 3 + 2 + 2 + 1 + 1
    assert t.listening_hours == pytest.approx((1000.5 + 600 + 400 + 800 + 199.5) / 3600)
    assert (t.days, t.genres, t.runs, t.archived_files) == (2, 3, 2, 3)
    assert (t.rows_read, t.rows_rejected) == (10 + 6, 2 + 1)
    assert t.rejected_share == pytest.approx(3 / 16)


def test_genre_series_and_trend(view):
    assert view.dates == (FIRST_DAY, SECOND_DAY)
    # pop and rock both have 7 listens: the name breaks the tie; a date without the genre counts 0.
    assert view.genres == (
        GenreSeries("pop", (5, 2)),
        GenreSeries("rock", (3, 4)),
        GenreSeries(HOSTILE_GENRE, (0, 1)),
    )
    assert view.trend == view.genres  # three genres: each its own line
    assert view.other_genres == 0


def test_trend_averages_the_genres_beyond_the_first_eight():
    items = [kpi(FIRST_DAY, f"g{n:02d}", 100 - n, 1, "1", "1") for n in range(10)]
    items += [kpi(SECOND_DAY, f"g{n:02d}", 50, 1, "1", "1") for n in range(9)]  # g09 missing on SECOND_DAY
    view = build_view(items, [], [])
    assert [s.genre for s in view.trend] == [f"g{n:02d}" for n in range(8)] + [OTHER_GENRES]
    assert view.trend[-1].listens == ((92 + 91) / 2, (50 + 0) / 2)
    assert view.other_genres == 2


def test_days_newest_first_with_top_genres_and_songs(view):
    newest, oldest = view.days
    assert (newest.date, newest.listens, newest.listeners) == (SECOND_DAY, 7, 4)
    assert newest.top_genres == (
        RankedGenre(1, "rock", 4, 4 / 7),
        RankedGenre(2, "pop", 2, 2 / 7),
        RankedGenre(3, HOSTILE_GENRE, 1, 1 / 7),
    )
    assert [k.genre for k in newest.genres] == ["rock", "pop", HOSTILE_GENRE]
    assert newest.top_songs == ((HOSTILE_GENRE, (Song(1, "t9", HOSTILE_SONG, "<i>Eve</i>", 1),)),)
    # A song without a name shows its track id.
    assert oldest.top_songs == (
        ("pop", (Song(1, "t1", "Song One", "Ann", 3), Song(2, "t2", "t2", "Bob", 2))),
    )


def test_runs_newest_first_with_every_reason(view):
    newest, oldest = view.runs
    assert (newest.run_id, oldest.run_id) == ("manual__b", "manual__a")
    assert oldest.rejected_by_reason == (
        (tables.REJECT_MISSING_USER_ID, 1),
        (tables.REJECT_MISSING_TRACK_ID, 0),
        (tables.REJECT_INVALID_LISTEN_TIME, 1),
        (tables.REJECT_UNKNOWN_TRACK_ID, 0),
    )
    assert (oldest.duplicates_dropped, oldest.unknown_user_rows, oldest.dates_affected) == (
        2,
        1,
        (FIRST_DAY, SECOND_DAY),
    )
    assert newest.rejected_share == pytest.approx(1 / 6)


def test_archive_grouped_by_run(view):
    assert [(a.archived_on, a.run_id, len(a.keys)) for a in view.archives] == [
        ("2026-11-21", "manual__b", 1),
        ("2026-11-20", "manual__a", 2),
    ]
    runs, other = model.archived_runs([*SMALL_ARCHIVED, "archived_data/stray.csv"])
    assert (len(runs), other) == (2, ("archived_data/stray.csv",))


def test_empty_table_and_bucket():
    view = build_view([], [], [])
    assert (view.totals.listens, view.totals.days, view.totals.rejected_share) == (0, 0, None)
    page = render_html(view)
    assert "No KPI items yet" in page
    assert "No data-quality reports yet" in page
    assert "Nothing archived yet" in page


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def test_untrusted_names_are_escaped_everywhere(view):
    page = render_html(view)
    parsed = _Tags()
    parsed.feed(page)
    # Only the page's own markup: no script, image or inline markup from a genre, song or artist.
    assert not parsed.tags & {"script", "img", "i", "b", "iframe"}
    assert not [a for a in parsed.attributes if a.startswith("on")]
    for text in (HOSTILE_GENRE, HOSTILE_SONG, "<i>Eve</i>"):
        assert text not in page
    assert html.escape(HOSTILE_GENRE) in page
    assert html.escape(HOSTILE_SONG) in page


def test_page_is_self_contained(view):
    """Nothing to fetch: no script, no source or link attribute, no CSS import, url() or web font."""
    page = render_html(view)
    parsed = _Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert not parsed.attributes & {"src", "href", "srcset", "data", "xlink:href"}
    # ops/report/report.css, inlined whole in the one <style> (which nothing in it may close early).
    css = render.STYLESHEET.read_text(encoding="utf-8")
    assert page.count("<style>") == 1
    assert f"<style>{css}</style>" in page
    assert "</" not in css
    for reference in ("@import", "url(", "@font-face"):
        assert reference not in css, reference


def test_text_summary(view):
    summary = render_text(view)
    assert summary.splitlines()[0] == (
        "Music streaming KPIs: 15 listens, 2 day(s), 3 genre(s), 2 run(s), 18.8% of rows rejected, "
        "3 raw file(s) archived"
    )
    assert summary.index(f"=== {FIRST_DAY} ===") < summary.index(f"=== {SECOND_DAY} ===")
    assert "Top genres: 1. rock (4), 2. pop (2)" in summary
    pop_d1 = "  pop" + " " * 13 + "5".rjust(9) + "3".rjust(11) + "1000.500".rjust(14) + "333.500".rjust(12)
    assert f"{pop_d1}  Song One (3); t2 (2)" in summary.splitlines()
    assert quality_line(view.runs[1]) == (
        "rows read 10, rows accepted 8, rows rejected 2, duplicates dropped 2, unknown user rows 1; "
        f"rejected by reason: {tables.REJECT_MISSING_USER_ID} 1, {tables.REJECT_INVALID_LISTEN_TIME} 1; "
        f"dates affected: {FIRST_DAY}, {SECOND_DAY}"
    )


def test_top_genres_missing_for_a_day_renders():
    items = [kpi(FIRST_DAY, "pop", 1, 1, "1", "1"), top_genres(SECOND_DAY, [])]
    page = render_html(build_view(items, [], []))
    assert "none published" in page


def test_a_long_history_keeps_the_page_short():
    dates = [f"2026-{month:02d}-{day:02d}" for month in (1, 2, 3) for day in range(1, 29)]  # 84 days
    view = build_view([kpi(d, "pop", 1, 1, "1", "1") for d in dates], [], [])
    page = render_html(view)
    assert page.count("<section><h2>2026-") == render.DAYS_SHOWN
    assert f"The {render.DAYS_SHOWN} newest of 84 days" in page
    assert "<circle" not in page.split('id="genres"')[0]  # no dot per day on the trend past 60 days
