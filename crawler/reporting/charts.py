"""The report's charts, drawn with Plotly (its JavaScript is inlined once by ``crawler.reporting.page``).

Each function returns an HTML fragment (a ``div`` and the script that draws into it); ids are
numbered per report so the file is the same for the same runs.
"""

from __future__ import annotations

from itertools import count
import plotly.graph_objects as go

from crawler.health.signals import FIELDS
from crawler.reporting.timeline import SourceTimeline

#: Colours of the health statuses (also used by the template's badges).
STATUS_COLOURS = {"broken": "#b91c1c", "degraded": "#d97706", "new": "#6b7280", "ok": "#15803d",
                  "unjudged": "#9ca3af"}  # a run stopped by SIGTERM/SIGINT judges no source
#: Statuses from the bottom of the health chart to the top.
STATUS_AXIS = ["unjudged", "ok", "new", "degraded", "broken"]
CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def run_axis(tl: SourceTimeline) -> list[str]:
    """One label per run, its start to the second (UTC): per-run charts use a category axis, because a
    date axis over a single run zooms into milliseconds (``19:37:42.999 / 19:37:42.9995``)."""
    return [r.start[:19].replace("T", " ") for r in tl.runs]


class ChartMaker:
    """Turns a source's timeline into chart fragments with unique, stable div ids."""

    def __init__(self) -> None:
        self._ids = count(1)

    def _html(self, fig: go.Figure, title: str) -> str:
        fig.update_layout(title={"text": title, "font": {"size": 14}}, height=280, margin={"l": 50, "r": 20, "t": 40, "b": 40},
                          legend={"orientation": "h", "y": -0.2}, template="plotly_white", showlegend=True)
        return fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG, div_id=f"chart-{next(self._ids)}")

    def volume(self, tl: SourceTimeline) -> str:
        """Articles written, new pages fetched and duplicates dropped, per day."""
        fig = go.Figure()
        for label, series in (("articles written", tl.written), ("article pages fetched", tl.pages),
                              ("duplicates", tl.duplicates)):
            fig.add_bar(name=label, x=tl.days, y=[series.get(d, 0) for d in tl.days])
        fig.update_layout(barmode="group")
        fig.update_xaxes(type="category")
        return self._html(fig, "Articles written, article pages fetched, duplicates per day")

    def errors(self, tl: SourceTimeline) -> str:
        """Errors by class per day, stacked."""
        fig = go.Figure()
        for label in sorted(tl.errors):
            fig.add_bar(name=label, x=tl.days, y=[tl.errors[label].get(d, 0) for d in tl.days])
        if not tl.errors:
            fig.add_bar(name="errors", x=tl.days, y=[0] * len(tl.days))
            fig.add_annotation(text="no errors in this period", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
        fig.update_layout(barmode="stack")
        fig.update_xaxes(type="category")
        return self._html(fig, "Errors by class per day")

    def languages(self, tl: SourceTimeline) -> str:
        """Articles written per language per day, stacked."""
        fig = go.Figure()
        for language in sorted(tl.languages, key=lambda lang: (lang != "en", lang)):
            fig.add_bar(name=language, x=tl.days, y=[tl.languages[language].get(d, 0) for d in tl.days])
        if not tl.languages:
            fig.add_bar(name="articles", x=tl.days, y=[0] * len(tl.days))
        fig.update_layout(barmode="stack")
        fig.update_xaxes(type="category")
        return self._html(fig, "Language mix per day (articles written)")

    def coverage(self, tl: SourceTimeline) -> str:
        """Share of written records with each watched field, per run (gaps: runs that wrote nothing)."""
        fig = go.Figure()
        x = run_axis(tl)
        for name in FIELDS:
            y = [None if r.coverage.get(name) is None else round(100 * r.coverage[name], 1) for r in tl.runs]
            fig.add_scatter(name=name, x=x, y=y, mode="lines+markers")
        fig.update_yaxes(range=[-5, 105], ticksuffix="%")
        fig.update_xaxes(type="category")
        return self._html(fig, "Field coverage per run")

    def health(self, tl: SourceTimeline) -> str:
        """Status per run, coloured, the reasons in the hover text."""
        fig = go.Figure()
        hover = [f"{r.start}<br>{r.status}" + "".join(f"<br>• {reason}" for reason in r.reasons) for r in tl.runs]
        fig.add_scatter(name="health", x=run_axis(tl), y=[r.status for r in tl.runs], mode="markers+lines",
                        line={"color": "#d1d5db"}, hovertext=hover, hoverinfo="text",
                        marker={"size": 12, "color": [STATUS_COLOURS.get(r.status, "#000") for r in tl.runs]})
        fig.update_yaxes(type="category", categoryorder="array", categoryarray=STATUS_AXIS, range=[-0.5, len(STATUS_AXIS) - 0.5])
        fig.update_xaxes(type="category")
        fig.update_layout(showlegend=False)
        return self._html(fig, "Health per run (hover for the reasons)")

    def for_source(self, tl: SourceTimeline) -> list[str]:
        """Every chart of one source, in the order the report shows them."""
        return [self.health(tl), self.volume(tl), self.coverage(tl), self.errors(tl), self.languages(tl)]

