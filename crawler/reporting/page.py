"""Render the report: the Jinja2 template with the charts and Plotly's JavaScript inlined.

Nothing is loaded from the network when the file is opened: no CDN, no web font, no MathJax.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import jinja2
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from crawler.health.judge import STATUSES
from crawler.reporting.charts import STATUS_COLOURS, ChartMaker
from crawler.reporting.timeline import build_timelines
from pipelines.storage.safefs import atomic_write, clean_stale_temps

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render_report(output: Path, days: int, now: datetime | None = None) -> tuple[str, int]:
    """The HTML report of the runs under ``output/runs`` over the last ``days`` days, and how many run
    reports of the period were skipped as unusable (each logged as a warning, the total shown)."""
    now = now or datetime.now(timezone.utc)
    timelines, runs, skipped = build_timelines(output / "runs", days, now)
    charts = ChartMaker()
    sections = [{"tl": tl, "charts": [Markup(html) for html in charts.for_source(tl)],
                 "problems": [r for r in reversed(tl.runs) if r.status in ("degraded", "broken")]}
                for tl in timelines]
    counts = {status: sum(1 for tl in timelines if tl.status == status) for status in STATUSES}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("report.html.j2").render(
        output=str(output), days=days, runs=runs, skipped=skipped, generated=now.isoformat(timespec="seconds"),
        sections=sections, counts=counts, colours=STATUS_COLOURS,
        # "</script" cannot occur in Plotly's bundle, but make sure the inlined script cannot end early
        plotly_js=Markup(get_plotlyjs().replace("</script", "<\\/script")),
    )
    return html, skipped


def write_report(output: Path, target: Path, days: int) -> tuple[Path, int]:
    """Render and write the report atomically (a reader never sees half a file); return ``target`` and the
    number of run reports skipped. Temporary files of killed earlier writes beside it are removed first."""
    html, skipped = render_report(output, days)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(target.parent)
    atomic_write(target, html)  # a fresh O_EXCL|O_NOFOLLOW temporary name: a planted link is replaced, not followed
    return target, skipped
