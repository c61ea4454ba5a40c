"""`liveassist loadtest` end to end: a real server, one journey of every scenario through the
real CLI (its own generator processes), the JSON checked, and /metrics read with
prometheus_client's parser agreeing with what the run did."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from loadtest.journeys import SCENARIOS
from loadtest.report import check_slos
from loadtest.server import SpawnedServer, wait_ready

ROOT = Path(__file__).resolve().parent.parent

MESSAGES = 1


def _metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _sum(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


@pytest.fixture
def server(tmp_path: Path) -> SpawnedServer:
    spawned = SpawnedServer(workers=1, data_dir=tmp_path)
    spawned.start()
    yield spawned  # type: ignore[misc]
    spawned.stop()


async def test_mixed_load_every_scenario(server: SpawnedServer, tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as http:
        await wait_ready(server.url, http)
        async with http.get(server.url + "/metrics") as resp:
            before = _metrics(await resp.text())
    email, password = server.admin()
    report = tmp_path / "run.json"
    html = tmp_path / "run.html"
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *[
            str(Path(sys.executable).with_name("liveassist")),
            "loadtest",
            "--url",
            server.url,
            "--email",
            email,
            "--mix",
            ",".join(SCENARIOS),
            "--journeys",
            str(len(SCENARIOS)),
            "--concurrency",
            str(len(SCENARIOS)),
            "--ramp",
            "1",
            "--talk",
            "3",
            "--messages",
            str(MESSAGES),
            "--processes",
            "2",
            "--seed",
            "7",
            "--slo",
            "completed=100%",
            "--slo",
            "latency_p95=1ms",  # the second fails on purpose
            "--json",
            str(report),
            "--html",
            str(html),
            "--quiet",
        ],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # The password from the environment, as a script passes it (not in the process list).
        env={**os.environ, "LIVEASSIST_LOADTEST_PASSWORD": password},
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 150)
    print(stdout.decode(), stderr.decode()[-3000:], f"run took {time.monotonic() - began:.1f} s")
    assert process.returncode == 1, "one SLO was set to fail: the exit code must say so"
    data = json.loads(report.read_text())
    assert [s["held"] for s in data["slos"]] == [True, False]
    assert data["passed"] is False

    journeys = data["journeys"]
    assert sorted(j["scenario"] for j in journeys) == sorted(SCENARIOS)
    assert [(j["scenario"], j["error"]) for j in journeys if j["stage"] != "done"] == []
    figures = data["figures"]
    assert figures["completed"] == len(SCENARIOS) and figures["failed"] == 0
    for journey in journeys:
        if journey["scenario"] == "chat":
            assert journey["calls"] == 0
            continue
        assert journey["calls"] == (3 if journey["scenario"] == "churn" else 1)
        for side in journey["to_agent"] + journey["to_customer"]:
            assert side["setup_ms"] is not None and side["audio_frames"] > 0
        if journey["scenario"] not in ("audio", "churn"):
            assert journey["stamps_decoded"] > 0, journey["scenario"]
    by_name = {j["scenario"]: j for j in journeys}
    assert by_name["reconnect"]["reconnect_ms"] is not None
    assert by_name["video+share"]["share_setup_ms"] is not None
    assert by_name["recorded"]["recording_ready_ms"] is not None
    assert figures["latency"]["count"] > 0 and figures["frame_loss_pct"] is not None
    # The same figures pass when the limits are reasonable ones.
    assert all(s.held for s in check_slos(figures, ["setup_p95=10s", "completed=100%"]))
    assert "data:image/png;base64," in html.read_text()

    async with aiohttp.ClientSession() as http, http.get(server.url + "/metrics") as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        scraped = await resp.text()
        after = _metrics(scraped)

    def delta(name: str, **labels: str) -> float:
        return _sum(after, name, **labels) - _sum(before, name, **labels)

    calls = sum(j["calls"] for j in journeys)
    assert delta("liveassist_calls_started_total") == calls
    assert delta("liveassist_calls_ended_total", reason="hung_up") == calls
    assert delta("liveassist_call_setup_seconds_count") == calls  # a rejoin is not a setup
    # Each journey: the customer's first message, then MESSAGES exchanges both ways.
    assert delta("liveassist_messages_total") == len(SCENARIOS) * (1 + 2 * MESSAGES)
    assert delta("liveassist_socket_events_total", event="csat.submit", outcome="ok") == len(
        SCENARIOS
    )
    assert delta("liveassist_relay_packets_forwarded_total", worker="0") > 0
    assert delta("liveassist_relay_cpu_seconds_total", worker="0") > 0
    assert _sum(after, "liveassist_relay_worker_up", worker="0") == 1
    assert _sum(after, "liveassist_chats", state="ended") >= len(SCENARIOS)
    # The recorded journey's recording stopped with its bytes on disk, none dropped.
    assert delta("liveassist_recording_bytes_total", outcome="written") > 100_000
    assert delta("liveassist_recording_bytes_total", outcome="dropped") == 0
    # The Grafana dashboard in docs/ asks only for metrics the service exposes.
    assert dashboard_metrics() <= {f.name for f in text_string_to_metric_families(scraped)}


def dashboard_metrics() -> set[str]:
    """Metric families the dashboard's queries read (sample suffixes taken off)."""
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    names = set(re.findall(r"liveassist_[a-z_]+", " ".join(queries)))
    assert len(names) >= 10, names
    return {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in names}
