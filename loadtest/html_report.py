"""--html: one self-contained page (plots inlined as base64 PNG) from a run's Aggregate.

Plots: latency and loss over time, call setup histogram, server CPU per process over time,
journeys by stage over time. matplotlib comes with the `bench` extra; without it the page
has the tables only.
"""

from __future__ import annotations

import base64
import html
import io
import json
from typing import Any

from loadtest.report import Aggregate, summary


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _plots(agg: Aggregate) -> list[tuple[str, str]]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    timeline = agg.timeline
    t = [s["t"] for s in timeline]
    plots: list[tuple[str, str]] = []

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(t, [s["latency_p95_ms"] for s in timeline], label="media latency p95 (ms)")
    ax.set_xlabel("s")
    ax.set_ylabel("ms")
    twin = ax.twinx()
    twin.plot(t, [s["loss_pct"] for s in timeline], color="tab:red", label="frame loss %")
    twin.set_ylabel("%")
    fig.legend(loc="upper left")
    plots.append(("Latency and loss over time (last 10 s of finished calls)", _png(fig)))
    plt.close(fig)

    setups = [
        d["setup_ms"]
        for j in agg.journeys
        for d in j["to_agent"] + j["to_customer"]
        if d["setup_ms"] is not None
    ]
    if setups:
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.hist(setups, bins=min(30, max(5, len(setups) // 2)))
        ax.set_xlabel("click → first decoded frame (ms)")
        ax.set_ylabel("calls x sides")
        plots.append(("Call setup", _png(fig)))
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3))
    keys = sorted({k for s in timeline for k in s["server_cpu_pct"]})
    for key in keys:
        ax.plot(t, [s["server_cpu_pct"].get(key) for s in timeline], label=key)
    ax.plot(t, [s["generator_cpu_pct"] for s in timeline], "--", label="generator (all)")
    ax.set_xlabel("s")
    ax.set_ylabel("% of one core")
    ax.legend(loc="upper left", fontsize="small")
    plots.append(("Server CPU over time (from /metrics)", _png(fig)))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3))
    stages = list(timeline[0]["stages"]) if timeline else []
    ax.stackplot(t, *[[s["stages"][st] for s in timeline] for st in stages], labels=stages)
    ax.set_xlabel("s")
    ax.set_ylabel("journeys")
    ax.legend(loc="upper left", fontsize="small")
    plots.append(("Journeys by stage", _png(fig)))
    plt.close(fig)
    return plots


def render(agg: Aggregate) -> str:
    verdict = "passed" if agg.passed else "FAILED"
    slos = "".join(
        f"<tr class={'ok' if s.held else 'bad'}><td>{html.escape(s.name)}</td>"
        f"<td>{s.limit:g}{s.unit}</td><td>{'-' if s.value is None else f'{s.value:g}'}</td>"
        f"<td>{'held' if s.held else 'broken'}</td></tr>"
        for s in agg.slos
    )
    images = "".join(
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}"></figure>'
        for title, data in _plots(agg)
    ) or (
        "<p>No plots: matplotlib is not installed "
        "(<code>pip install 'liveassist[bench]'</code> adds it).</p>"
    )
    options = html.escape(json.dumps(agg.options, indent=1))
    bottleneck = (
        f"<p class=bad>Generator bottleneck: {html.escape('; '.join(agg.generator['why']))}</p>"
        if agg.generator["bottleneck"]
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LiveAssist load test</title>
<style>
body{{font:14px system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}}
pre{{background:#f6f6f6;padding:1em;overflow:auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em}}
.ok{{color:#176b2c}}.bad{{color:#b00020;font-weight:bold}}
figure{{display:inline-block;margin:.5em}}figcaption{{font-weight:bold}}
</style></head><body>
<h1>LiveAssist load test: <span class={"ok" if agg.passed else "bad"}>{verdict}</span></h1>
{bottleneck}
<table><tr><th>SLO</th><th>limit</th><th>measured</th><th></th></tr>{slos}</table>
<h2>Plots</h2>{images}
<h2>Summary</h2><pre>{html.escape(summary(agg))}</pre>
<h2>Options</h2><pre>{options}</pre>
</body></html>
"""
