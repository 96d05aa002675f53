"""Reprocessing a past day (docs/DESIGN.md, "Reprocess and backfill"): the DAG run parameters and
the rule both the DAG and the Glue job check dates with.

- recompute: `recompute_dates` (DAG param) -> ``--recompute_dates`` (Glue, comma-separated): the
  KPIs of those dates again from the curated events, no raw file read, nothing archived;
- replay: `replay_from` / `replay_to` (DAG params, archive dates): the archived raw files of those
  days through the normal path, left where they are in the archive.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

PARAM_RECOMPUTE_DATES = "recompute_dates"
PARAM_REPLAY_FROM = "replay_from"
PARAM_REPLAY_TO = "replay_to"
# Bounds: one run recomputes or replays at most this many days (a month); larger backfills are
# several runs, each one a reviewable unit that fits the job's timeout.
MAX_RECOMPUTE_DATES = 31
MAX_REPLAY_DAYS = 31
# The JSON-schema pattern of a date param (the trigger form's check); `parse_day` is the full one.
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def parse_day(value: object, name: str) -> date:
    """A ``YYYY-MM-DD`` calendar date; ValueError naming `name` and the value otherwise."""
    text = str(value).strip()
    try:
        if len(text) != 10:
            raise ValueError("not YYYY-MM-DD")
        return date.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"{name}: {value!r} is not a YYYY-MM-DD date ({err})") from err


def parse_recompute_dates(
    values: Iterable[object] | str, name: str = PARAM_RECOMPUTE_DATES
) -> tuple[str, ...]:
    """The distinct dates to recompute, sorted; a comma-separated string or a list.

    ValueError naming `name` for a bad date, an empty list or more than MAX_RECOMPUTE_DATES dates.
    """
    items = [v for v in (values.split(",") if isinstance(values, str) else values) if str(v).strip()]
    days = sorted({parse_day(v, name).isoformat() for v in items})
    if not days:
        raise ValueError(f"{name}: no date given")
    if len(days) > MAX_RECOMPUTE_DATES:
        raise ValueError(f"{name}: {len(days)} dates, at most {MAX_RECOMPUTE_DATES} per run")
    return tuple(days)


def replay_days(first: object, last: object) -> tuple[date, ...]:
    """Every archive date from `first` to `last` (both included); ValueError naming the param."""
    start, end = parse_day(first, PARAM_REPLAY_FROM), parse_day(last, PARAM_REPLAY_TO)
    if end < start:
        raise ValueError(f"{PARAM_REPLAY_TO}: {end} is before {PARAM_REPLAY_FROM} {start}")
    count = (end - start).days + 1
    if count > MAX_REPLAY_DAYS:
        raise ValueError(
            f"{PARAM_REPLAY_FROM}..{PARAM_REPLAY_TO}: {count} days, at most {MAX_REPLAY_DAYS} per run"
        )
    return tuple(date.fromordinal(start.toordinal() + n) for n in range(count))
