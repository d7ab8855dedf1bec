"""``python -m simulator run``: run a portfolio through the platform and write the report."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from simulator import html
from simulator.config import SimulationConfig, load_config
from simulator.runner import Simulation
from simulator.target import SERVICES, PlatformTarget

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


@app.callback()
def main() -> None:
    """The portfolio simulator."""


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "report.json", out / "report.html"
    json_path.write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")
    html_path.write_text(html.render(report), encoding="utf-8")
    return json_path, html_path


def simulate(
    config: SimulationConfig,
    target: PlatformTarget,
    show_progress: bool = True,
    gateway: str = "auto",
) -> dict[str, Any]:
    with Progress(
        TextColumn("[bold]day {task.completed}/{task.total}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress,
    ) as progress:
        task = progress.add_task("days", total=config.days, status="setting up")
        started = time.perf_counter()
        events = 0

        def hook(day: int, info: dict[str, Any]) -> None:
            nonlocal events
            events += info["events"]
            rate = events / max(time.perf_counter() - started, 1e-6)
            lags = " ".join(f"{g}={n}" for g, n in info["lags"].items())
            status = (
                f"{info['today']} {info['payments']} payments, {rate:,.0f} events/s, lag {lags}"
            )
            progress.update(task, completed=day + 1, status=status)
            if show_progress and not console.is_terminal:
                # a log file gets one line a day (a live bar needs a terminal)
                left = (time.perf_counter() - started) / (day + 1) * (config.days - day - 1)
                console.print(f"day {day + 1}/{config.days} {status}, ETA {left:,.0f}s")

        return asyncio.run(Simulation(config, target, hook, gateway).run())


@app.command()
def run(
    loans: Annotated[int | None, typer.Option(help="borrowers and loans (default 10,000)")] = None,
    days: Annotated[int | None, typer.Option(help="business days (default 90)")] = None,
    seed: Annotated[int | None, typer.Option(help="the behaviour model's seed")] = None,
    config: Annotated[Path | None, typer.Option(help="behaviour model file (YAML or TOML)")] = None,
    out: Annotated[Path, typer.Option(help="where report.json and report.html go")] = Path(
        ".var/simulation"
    ),
    local_platform: Annotated[
        str | None,
        typer.Option(
            help="start a private platform (fresh databases <PREFIX>_*, topics <PREFIX>.*) "
            "instead of using the running one"
        ),
    ] = None,
    base_port: Annotated[int, typer.Option(help="first port of --local-platform")] = 8160,
    ledger_url: Annotated[str | None, typer.Option(help="default: LEDGER_HTTP_PORT")] = None,
    overdue_url: Annotated[str | None, typer.Option()] = None,
    notifier_url: Annotated[str | None, typer.Option()] = None,
    restructure_url: Annotated[str | None, typer.Option()] = None,
    gateway: Annotated[str, typer.Option(help="auto, single or batch")] = "auto",
    progress: Annotated[bool, typer.Option(help="show progress")] = True,
) -> None:
    """Run the simulation, check the invariants, write the report; exit 1 if one fails."""
    cfg = load_config(config, loans=loans, days=days, seed=seed)
    console.print(f"simulating {cfg.loans:,} loans over {cfg.days} business days (seed {cfg.seed})")
    if local_platform:
        from simulator import local_platform as lp

        target = lp.prepare(local_platform, base_port)
        try:
            with lp.running(target, out / "logs"):
                report = simulate(cfg, target, progress, gateway)
        finally:
            asyncio.run(lp.delete_topics(target))  # the databases stay for a look
    else:
        # The running platform, as its services' settings describe it (scripts/up.sh's).
        given: dict[str, str | None] = dict(
            zip(SERVICES, (ledger_url, overdue_url, notifier_url, restructure_url), strict=True)
        )
        target = PlatformTarget.from_service_settings(given)
        report = simulate(cfg, target, progress, gateway)
    json_path, html_path = write_report(report, out)
    t = report["timings"]
    console.print(
        f"wall {t['wall_seconds']:.1f}s: platform REST {t['platform_requests_seconds']:.1f}s, "
        f"close of business {t['close_of_business_seconds']:.1f}s, waiting for lag "
        f"{t['waiting_for_lag_seconds']:.1f}s, simulator {t['simulator_seconds']:.1f}s; "
        f"{t['loan_days_per_second']} loan-days/s"
    )
    failed = [i for i in report["invariants"] if not i["passed"]]
    for i in report["invariants"]:
        mark = "[green]PASS[/]" if i["passed"] else "[red]FAIL[/]"
        console.print(f"{mark} {i['name']} ({i['checked']} checked) {i['note']}")
        for f in i["failures"]:
            console.print(f"     {f}")
    console.print(f"report: {html_path.resolve()}\n        {json_path.resolve()}")
    if failed:
        raise typer.Exit(1)
