"""``report.html``: one self-contained page (plotly.js inline, no network needed to open it).

Plotly: a maintained charting library whose Python package ships plotly.js, so the page
embeds it once (``include_plotlyjs=True``, ~4.5 MB) and every chart is interactive (hover,
zoom, legend toggles) without a server. Each chart sits in ``<div class="chart"
id="chart-NAME">``; the browser test checks each one rendered."""

from __future__ import annotations

import html
import json
from typing import Any

import plotly.graph_objects as go
from plotly.io import to_html
from plotly.subplots import make_subplots

CHARTS = (
    "buckets",
    "roll_count",
    "roll_balance",
    "cure",
    "vintage",
    "penalties",
    "contacts_channel",
    "contacts_stage",
    "contacts_suppressed",
    "rpc",
    "promises",
    "restructuring",
    "timings",
)


def _bars(labels: list[str], values: list[float], title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=labels or ["(none)"], y=values or [0]))
    fig.update_layout(title=title)
    return fig


def _heatmap(matrix: dict[str, Any], names: list[str], title: str) -> go.Figure:
    z = [[(matrix["rates"][a][b] or 0.0) for b in names] for a in names]
    text = [[str(matrix["values"][a][b]) for b in names] for a in names]
    fig = go.Figure(
        go.Heatmap(z=z, x=names, y=names, text=text, texttemplate="%{text}", colorscale="Blues")
    )
    fig.update_layout(title=title, xaxis_title="to bucket", yaxis_title="from bucket")
    fig.update_yaxes(autorange="reversed")
    return fig


def figures(report: dict[str, Any]) -> dict[str, go.Figure]:
    r = report["results"]
    dates = r["dates"]
    figs: dict[str, go.Figure] = {}

    dist = r["bucket_distribution"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loans", "outstanding principal (minor)"))
    for b in dist["buckets"]:
        fig.add_trace(go.Scatter(x=dates, y=dist["loans"][b], name=b, stackgroup="n"), 1, 1)
        fig.add_trace(
            go.Scatter(
                x=dates, y=dist["principal_minor"][b], name=b, stackgroup="p", showlegend=False
            ),
            1,
            2,
        )
    fig.update_layout(title="Bucket distribution over time")
    figs["buckets"] = fig

    rolls = r["roll_rates"]
    names = rolls["buckets"] or ["current"]
    figs["roll_count"] = _heatmap(rolls["by_count"], names, "Roll rates by count (rate, loans)")
    figs["roll_balance"] = _heatmap(
        rolls["by_balance"], names, "Roll rates by balance (rate, principal minor)"
    )

    cure = r["cure_rate"]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=[f"day {c['from_day']}-{c['to_day']}" for c in cure] or ["(none)"],
            y=[c["cure_rate"] or 0 for c in cure] or [0],
            name="simulator (snapshots)",
        )
    )
    plat = r["platform_roll_rates"]
    fig.add_trace(
        go.Bar(
            x=[f"day {c['from_day']}-{c['to_day']}" for c in plat] or ["(none)"],
            y=[float(c["cure_rate"] or 0) for c in plat] or [0],
            name="overdue service (GET /portfolio/cure-rate)",
        )
    )
    fig.update_layout(title="Cure rate per 30-day window", yaxis_tickformat=".0%")
    figs["cure"] = fig

    fig = go.Figure()
    for name, curve in r["vintage_curves"].items():
        fig.add_trace(go.Scatter(y=curve, x=list(range(len(curve))), name=name, mode="lines"))
    fig.update_layout(
        title="Vintage delinquency: share past due by days on book",
        xaxis_title="days since the vintage's first day",
        yaxis_tickformat=".0%",
    )
    figs["vintage"] = fig

    pen = r["penalties"]
    fig = go.Figure()
    for cur, row in pen["income_minor"].items():
        fig.add_trace(go.Bar(x=dates, y=row, name=f"penalty income {cur}"))
    for cur, row in pen["waived_minor"].items():
        fig.add_trace(go.Bar(x=dates, y=[-v for v in row], name=f"waived {cur}"))
    if not fig.data:
        fig.add_trace(go.Bar(x=dates, y=[0] * len(dates), name="no penalties"))
    fig.update_layout(title="Penalty income and waivers per day (minor units)", barmode="relative")
    figs["penalties"] = fig

    c = r["contacts"]
    figs["contacts_channel"] = _bars(
        list(c["by_channel"]), list(c["by_channel"].values()), "Contact attempts by channel"
    )
    fig = make_subplots(rows=1, cols=2, subplot_titles=("by escalation stage", "by purpose"))
    fig.add_trace(
        go.Bar(
            x=list(c["by_stage"]) or ["(none)"], y=list(c["by_stage"].values()) or [0], name="stage"
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Bar(
            x=list(c["by_purpose"]) or ["(none)"],
            y=list(c["by_purpose"].values()) or [0],
            name="purpose",
        ),
        1,
        2,
    )
    fig.update_layout(title="Contact attempts by stage and purpose")
    figs["contacts_stage"] = fig
    figs["contacts_suppressed"] = _bars(
        list(c["suppressed_by_rule"]),
        list(c["suppressed_by_rule"].values()),
        "Suppressed contacts by reason",
    )

    rpc = report["wall_clock"]["right_party_contact"]["by_channel"]
    figs["rpc"] = _bars(
        list(rpc), [v["rate"] or 0 for v in rpc.values()], "Right-party-contact rate by channel"
    )
    figs["rpc"].update_layout(yaxis_tickformat=".0%")

    p = r["promises"]
    figs["promises"] = _bars(
        ["made", "kept", "broken"],
        [p["made"], p["kept"], p["broken"]],
        f"Promises to pay (kept rate {_pct(p['kept_rate'])}; source: {p['source']})",
    )

    rs = r["restructuring"]
    title = "Restructuring: asked, accepted, completed, broken"
    if not rs["available"]:
        title += f" (no platform data: {rs['skipped']})"
    figs["restructuring"] = _bars(
        ["asked", "accepted", "completed", "broken"],
        [rs["asked"], rs["accepted"], rs["completed"], rs["broken"]],
        title,
    )

    tm = report["timings"]
    parts = {
        "platform (REST)": tm["platform_requests_seconds"],
        "platform (close of business)": tm["close_of_business_seconds"],
        "waiting for lag": tm["waiting_for_lag_seconds"],
        "simulator": tm["simulator_seconds"],
    }
    fig = make_subplots(
        rows=1,
        cols=2,
        specs=[[{"type": "domain"}, {"type": "xy"}]],
        subplot_titles=("where the wall time went", "seconds per simulated day"),
    )
    fig.add_trace(go.Pie(labels=list(parts), values=list(parts.values())), 1, 1)
    per_day = tm["per_day"]
    for key in ("borrowers", "close", "settle"):
        fig.add_trace(
            go.Bar(x=dates[: len(per_day)], y=[d.get(key, 0) for d in per_day], name=key), 1, 2
        )
    fig.update_layout(title=f"Run timings (wall {tm['wall_seconds']} s)", barmode="stack")
    figs["timings"] = fig
    return figs


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def render(report: dict[str, Any]) -> str:
    figs = figures(report)
    assert set(figs) == set(CHARTS), set(figs) ^ set(CHARTS)
    parts = []
    for i, name in enumerate(CHARTS):
        parts.append(
            f'<div class="chart" id="chart-{name}">'
            + to_html(
                figs[name],
                full_html=False,
                include_plotlyjs=(i == 0),
                div_id=f"plot-{name}",
                config={"displaylogo": False},
            )
            + "</div>"
        )
    inv_rows = "".join(
        f"<tr class={'ok' if i['passed'] else 'fail'}><td>{'PASS' if i['passed'] else 'FAIL'}</td>"
        f"<td>{html.escape(i['name'])}</td><td>{i['checked']}</td><td>{html.escape(i['source'])}</td>"
        f"<td>{html.escape('; '.join(i['failures']) or i['note'])}</td></tr>"
        for i in report["invariants"]
    )
    run = report["results"]["run"]
    skipped = "".join(
        f"<li>{html.escape(k)}: {html.escape(v)}</li>"
        for k, v in report["skipped_behaviours"].items()
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report["notes"])
    summary = html.escape(json.dumps(report["timings"] | {"per_day": "..."}, indent=1)[:2000])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Portfolio simulation report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; }}
tr.ok td:first-child {{ color: #080; font-weight: bold; }}
tr.fail td:first-child {{ color: #b00; font-weight: bold; }}
.chart {{ margin: 1.5em 0; min-height: 420px; }}
</style></head><body>
<h1>Portfolio simulation</h1>
<p>{run["loans"]} loans, {run["days"]} business days from {run["start_date"]}, seed {run["seed"]}.
Results digest <code>{report["results_digest"][:16]}</code>.</p>
<h2>Invariants: {"all passed" if report["invariants_passed"] else "FAILED"}</h2>
<table id="invariants"><tr><th></th><th>invariant</th><th>checked</th><th>source</th><th>detail</th></tr>
{inv_rows}</table>
<h2>Behaviours skipped (routes the platform lacks)</h2><ul>{skipped or "<li>none</li>"}</ul>
<ul>{notes}</ul>
{"".join(parts)}
<h2>Timings</h2><pre>{summary}</pre>
</body></html>
"""
