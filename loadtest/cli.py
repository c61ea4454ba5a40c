"""`liveassist loadtest`: whole support journeys against a LiveAssist server.

    liveassist loadtest --spawn --mix chat=2,video=1 --concurrency 6 --duration 30 \\
        --slo setup_p95=1s --slo latency_p95=150ms --html report.html

Exit code: 0 every SLO held, 1 an SLO broke, 2 the run could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from loadtest.journeys import SCENARIOS
from loadtest.report import check_slos, parse_slo, summary
from loadtest.runner import Profile, Run, RunOptions


def _mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in SCENARIOS:
            raise argparse.ArgumentTypeError(
                f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}"
            )
        mix[name] = float(weight or 1)
    return mix


def _profile(text: str) -> Profile:
    """WIDTHxHEIGHT@FPS[:KBPS], e.g. 640x480@30:1000."""
    try:
        size, _, rest = text.partition("@")
        width, height = (int(v) for v in size.split("x"))
        fps, _, kbps = rest.partition(":")
        return Profile(width, height, int(fps or 15), int(kbps or 300) * 1000)
    except ValueError:
        raise argparse.ArgumentTypeError("a profile looks like 640x480@30:1000") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="liveassist loadtest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    target = p.add_argument_group("server")
    target.add_argument("--url", help="a running LiveAssist (http://host:port)")
    target.add_argument("--spawn", action="store_true", help="start one (embedded default)")
    target.add_argument("--email", help="admin email (creates the simulated agents)")
    target.add_argument(
        "--password",
        default=os.environ.get("LIVEASSIST_LOADTEST_PASSWORD"),
        help="admin password (or LIVEASSIST_LOADTEST_PASSWORD, which keeps it out of the "
        "process list; --password=VALUE for one that starts with -)",
    )
    target.add_argument("--org", default="demo", help="organisation slug (default demo)")
    target.add_argument("--workers", type=int, default=0, help="--spawn: relay workers")
    target.add_argument("--metrics-token", help="bearer token for /metrics (metrics.token)")
    load = p.add_argument_group("load")
    load.add_argument(
        "--mix",
        type=_mix,
        default={"chat": 1.0, "video": 1.0},
        help=f"scenario=weight,... of: {', '.join(SCENARIOS)} (default chat=1,video=1)",
    )
    load.add_argument("--rate", type=float, default=0.0, help="journeys arriving per second")
    load.add_argument("--concurrency", type=int, default=4, help="journeys at once (default 4)")
    load.add_argument("--journeys", type=int, default=0, help="exactly this many, then stop")
    load.add_argument("--duration", type=float, default=30.0, help="seconds of arrivals")
    load.add_argument("--ramp", type=float, default=5.0, help="ramp-up seconds")
    load.add_argument("--talk", type=float, default=10.0, help="seconds of media per call")
    load.add_argument("--messages", type=int, default=3, help="chat exchanges per journey")
    load.add_argument(
        "--profile", type=_profile, default=Profile(), help="video WxH@FPS:KBPS (320x240@15:300)"
    )
    load.add_argument("--processes", type=int, default=0, help="generator processes (0: cores)")
    load.add_argument("--seed", type=int, default=1)
    load.add_argument(
        "--decode",
        action="store_true",
        help="decode every received frame as a browser would (costs the generator CPU per "
        "frame); by default frames are known by their clip bytes at the RTP level",
    )
    out = p.add_argument_group("results")
    out.add_argument("--json", type=Path, help="write every figure here")
    out.add_argument("--html", type=Path, help="write a self-contained report with plots")
    out.add_argument(
        "--slo",
        action="append",
        default=[],
        help="e.g. setup_p95=1s (repeat); default completed=100%%",
    )
    out.add_argument(
        "--find-capacity",
        metavar="SCENARIO",
        choices=SCENARIOS,
        help="ramp concurrency until an SLO breaks",
    )
    out.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(
        url=None if args.spawn else args.url,
        admin=(args.email, args.password) if args.email else None,
        org=args.org,
        spawn_workers=args.workers,
        mix=args.mix,
        rate=args.rate,
        concurrency=args.concurrency,
        journeys=args.journeys,
        duration=args.duration,
        ramp=args.ramp,
        talk=args.talk,
        messages=args.messages,
        profile=args.profile,
        processes=args.processes,
        seed=args.seed,
        decode=args.decode,
        metrics_token=args.metrics_token,
        quiet=args.quiet,
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.spawn and not args.url:
        print(
            "liveassist loadtest: give --url (and --email/--password) or --spawn", file=sys.stderr
        )
        return 2
    try:
        for slo in args.slo:
            parse_slo(slo)
    except ValueError as error:
        print(f"liveassist loadtest: {error}", file=sys.stderr)
        return 2
    if args.find_capacity:
        from loadtest.capacity import find_capacity

        return find_capacity(options(args), args.find_capacity, args.slo, args.json)
    try:
        agg = asyncio.run(Run(options(args)).execute())
    except (RuntimeError, OSError) as error:
        print(f"liveassist loadtest: {error}", file=sys.stderr)
        return 2
    # Without SLOs the gate is that every journey completed: a failed one is never a pass.
    agg.slos = check_slos(agg.figures, args.slo or ["completed=100%"])
    print(summary(agg))
    if args.json:
        args.json.write_text(json.dumps(agg.to_wire(), indent=1))
    if args.html:
        from loadtest.html_report import render

        args.html.write_text(render(agg))
    return 0 if agg.passed else 1
