"""The report as plain text: the demo's terminal summary, from the same view model as the HTML page."""

from __future__ import annotations

from ops.report.model import ReportView, RunQuality


def quality_line(run: RunQuality) -> str:
    """One run's data-quality counts on one line."""
    text = (
        f"rows read {run.rows_read}, rows accepted {run.rows_accepted}, rows rejected {run.rows_rejected}, "
        f"duplicates dropped {run.duplicates_dropped}, unknown user rows {run.unknown_user_rows}"
    )
    rejected = [f"{reason} {count}" for reason, count in run.rejected_by_reason if count]
    if rejected:
        text += "; rejected by reason: " + ", ".join(rejected)
    return f"{text}; dates affected: {', '.join(run.dates_affected) or 'none'}"


def render_text(view: ReportView) -> str:
    """Per day (oldest first): top genres, then every genre's KPIs and top songs; then data quality."""
    t = view.totals
    share = "n/a" if t.rejected_share is None else f"{t.rejected_share:.1%}"
    lines = [
        f"{view.title}: {t.listens} listens, {t.days} day(s), {t.genres} genre(s), {t.runs} run(s), "
        f"{share} of rows rejected, {t.archived_files} raw file(s) archived"
    ]
    for day in reversed(view.days):
        lines.append(f"\n=== {day.date} ===")
        ranking = ", ".join(f"{g.rank}. {g.genre} ({g.listens})" for g in day.top_genres)
        lines.append(f"Top genres: {ranking}")
        lines.append(
            f"  {'genre':<16}{'listens':>9}{'listeners':>11}{'total s':>14}{'avg s/user':>12}  top songs"
        )
        songs = dict(day.top_songs)
        for kpi in day.genres:
            named = "; ".join(f"{s.title} ({s.listens})" for s in songs.get(kpi.genre, ()))
            lines.append(
                f"  {kpi.genre:<16}{kpi.listens:>9}{kpi.listeners:>11}{kpi.total_seconds:>14.3f}"
                f"{kpi.avg_seconds_per_listener:>12.3f}  {named[:70]}"
            )
    for run in reversed(view.runs):
        lines.append(f"\nData quality, run {run.run_id} ({run.status}): {quality_line(run)}")
    lines.append(f"\nArchived {t.archived_files} raw file(s):")
    for archived in reversed(view.archives):
        lines.extend(f"  {key}" for key in archived.keys)
    lines.extend(f"  {key}" for key in view.other_keys)
    return "\n".join(lines)
