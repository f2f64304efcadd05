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

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render_report(output: Path, days: int, now: datetime | None = None) -> str:
    """The HTML report of the runs under ``output/runs`` over the last ``days`` days."""
    now = now or datetime.now(timezone.utc)
    timelines, runs = build_timelines(output / "runs", days, now)
    charts = ChartMaker()
    sections = [{"tl": tl, "charts": [Markup(html) for html in charts.for_source(tl)],
                 "problems": [r for r in reversed(tl.runs) if r.status in ("degraded", "broken")]}
                for tl in timelines]
    counts = {status: sum(1 for tl in timelines if tl.status == status) for status in STATUSES}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(
        output=str(output), days=days, runs=runs, generated=now.isoformat(timespec="seconds"),
        sections=sections, counts=counts, colours=STATUS_COLOURS,
        # "</script" cannot occur in Plotly's bundle, but make sure the inlined script cannot end early
        plotly_js=Markup(get_plotlyjs().replace("</script", "<\\/script")),
    )


def write_report(output: Path, target: Path, days: int) -> Path:
    """Render and write the report atomically (a reader never sees half a file); return ``target``."""
    html = render_report(output, days)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target
