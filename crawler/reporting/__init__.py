"""``autonews report``: one self-contained HTML file from the run reports under ``<output>/runs/``.

``timeline`` turns the reports into per-source series (pure), ``charts`` draws them with Plotly,
``page`` renders the Jinja2 template with Plotly's JavaScript inlined, so the file opens offline.
"""
