"""The platform's benchmarks in one command, one table (issue 12).

    .venv/bin/python bench/all.py                  # the issue's sizes, medians of 3 (~30-40 min)
    .venv/bin/python bench/all.py --quick          # smaller sizes, one run each (~5 min)
    .venv/bin/python bench/all.py --only cured,pipeline

Each benchmark runs as a process of its own (``bench/<name>.py ... --json``), one after the
other on the shared PostgreSQL and Kafka (``scripts/infra/start.sh``); each measures its
baseline in the same run. Their output goes to ``--out`` (``.var/bench/all``: ``<name>.log``,
``<name>.json``), the table to the terminal, ``all.md`` and ``all.json``:

* ``cob``: close of business, 100,000 and 1,000,000 loans (3 % due, 8 % overdue), from the
  trigger until every event is published, every penalty booked, and the notifier's and
  restructure service's consumers have applied the day
  (``close_of_business_chain.py``; the 1,000,000 against the 100,000 of the same run);
* ``cured``: payment -> ``overdue.loan.cured.v1`` seen by a subscriber at 200 payments/s and at
  the most the machine holds, beside the broker round trip at the same rate
  (``payment_to_cured.py``);
* ``ledger``: single payment POSTs beside PostgreSQL's one-row durable commits at the same
  concurrency (asyncpg and pgbench), GET loan detail beside ``/healthz``, the batch path
  beside the single POST (``ledger_api.py``);
* ``pipeline``: outbox -> relay -> broker -> idempotent consumer -> effect beside Kafka's own
  ProducerPerformance / ConsumerPerformance (``pipeline_floor.py``);
* ``notifier``: the triggers a close of business gives the notifier (0.11 N), decided,
  recorded and handed to the sandbox provider, beside that close of business in the same run
  (``notifier_triggers.py``; issue 10's goal: ratio <= 1.0);
* ``simulation``: the simulator's speed in loan-days per second on a private platform
  (``python -m simulator run``; no baseline: the figure itself).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from bench_results import read_results
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
console = Console(stderr=True)
app = typer.Typer(add_completion=False, help=__doc__)


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, the baseline measured in the same run, their ratio,
    the goal and whether it is met (None: no goal)."""

    what: str
    figure: str
    baseline: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None


def _n(v: float | None, unit: str = "", digits: int = 0) -> str:
    return "-" if v is None else f"{v:,.{digits}f}{unit}"


def _share(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# -- each benchmark: its command and its rows ----------------------------------------------------


def cob_command(quick: bool, runs: int) -> list[str]:
    loans, baseline = (100_000, 20_000) if quick else (1_000_000, 100_000)
    return [
        "close_of_business_chain.py",
        f"--loans={loans}",
        f"--runs={runs}",
        f"--baseline={baseline}",
        f"--baseline-runs={runs}",
    ]


def cob_rows(r: dict[str, Any]) -> list[Row]:
    sizes = r["sizes"]
    base = sizes.get(str(r["baseline"])) if r.get("baseline") else None
    rows = []
    for size, s in sorted(sizes.items(), key=lambda kv: int(kv[0])):
        is_base = base is s
        ratio = "" if is_base or base is None else f"x{s['total_s'] / base['total_s']:.2f}"
        rows.append(
            Row(
                f"close of business, {int(size):,} loans (to every penalty booked and the "
                "notifier and restructure consumers done)",
                f"{s['total_s']:.2f} s (COB {s['cob_committed_s']:.2f} s, penalties booked "
                f"{s['penalties_booked_s']:.2f} s, notifier {s['notifier_done_s']:.2f} s, "
                f"restructure {s['restructure_done_s']:.2f} s; peak RSS "
                f"{s['peak_rss_mb']:.0f} MB; {s['runs']} run(s))",
                ""
                if is_base or base is None
                else f"{int(r['baseline']):,} loans {base['total_s']:.2f} s",
                ratio,
            )
        )
    return rows


def cured_command(quick: bool, runs: int) -> list[str]:
    return [
        "payment_to_cured.py",
        "--rates=200,held",
        f"--seconds={5 if quick else 10}",
        f"--runs={runs}",
    ]


def cured_rows(r: dict[str, Any]) -> list[Row]:
    rows = []
    for rate, m in r.items():
        held = "held" if m["held"] else f"NOT held: answered {_n(m['answered_per_s'], '/s', 1)}"
        ok = m["cured_p50_ms"] is not None and m["cured_p99_ms"] is not None
        sent = f"{m['rate']:g}/s" + (", the most the machine holds" if rate == "held" else "")
        rows.append(
            Row(
                f"payment -> overdue.loan.cured seen, {sent} ({held})",
                f"p50 {_n(m['cured_p50_ms'], ' ms', 1)}, p99 {_n(m['cured_p99_ms'], ' ms', 1)} "
                f"({m['cured_seen']} of {m['payments']} seen; POST p50 "
                f"{_n(m['post_p50_ms'], ' ms', 1)})",
                f"broker round trip p50 {_n(m['broker_p50_ms'], ' ms', 1)}, p99 "
                f"{_n(m['broker_p99_ms'], ' ms', 1)}",
                f"x{m['ratio_p50']:g} (p50)" if m["ratio_p50"] else "",
                "p50 <= 20 ms, p99 <= 100 ms",
                ok and m["held"] and m["cured_p50_ms"] <= 20 and m["cured_p99_ms"] <= 100,
            )
        )
    return rows


def ledger_command(quick: bool, runs: int) -> list[str]:
    extra = ["--seconds=5", "--payments=600", "--batch-payments=3000"] if quick else []
    return ["ledger_api.py", f"--runs={runs}", *extra]


def ledger_rows(r: dict[str, Any]) -> list[Row]:
    rows = []
    post, floor, pg = (
        r.get("post_per_s"),
        r.get("floor_asyncpg_per_s"),
        r.get("floor_pgbench_per_s"),
    )
    share = _share(post, pg or floor)
    rows.append(
        Row(
            f"single payment POSTs, {r.get('in_flight')} in flight, {r['workers']} worker(s)",
            f"{_n(post, '/s')} (p50 {_n(r.get('post_p50_ms'), ' ms', 1)}, p99 "
            f"{_n(r.get('post_p99_ms'), ' ms', 1)})",
            f"one-row durable commits: pgbench {_n(pg, '/s')}, asyncpg {_n(floor, '/s')}",
            "-" if share is None else f"{100 * share:.1f} %",
            ">= 10 % of the floor, p99 <= 50 ms",
            share is not None and share >= 0.10 and (r.get("post_p99_ms") or 1e9) <= 50,
        )
    )
    for c in (8, 16):
        got, base = r.get(f"get_detail_c{c}_per_s"), r.get(f"healthz_c{c}_per_s")
        if got is None:
            continue
        ratio = _share(got, base)
        rows.append(
            Row(
                f"GET /loans/{{id}}, {c} connections",
                f"{_n(got, ' req/s')} (p99 {_n(r.get(f'get_detail_c{c}_p99_ms'), ' ms', 2)})",
                f"GET /healthz {_n(base, ' req/s')}",
                "-" if ratio is None else f"x{ratio:.2f}",
                ">= x0.5",
                ratio is not None and ratio >= 0.5,
            )
        )
    batch = r.get("batch_per_s")
    if batch is not None:
        ratio = _share(batch, post)
        rows.append(
            Row(
                f"batch payments, {r.get('batch_size')} a batch, 4 in flight",
                f"{_n(batch, ' payments/s')}",
                f"single POST {_n(post, '/s')}",
                "-" if ratio is None else f"x{ratio:.1f}",
                ">= x10",
                ratio is not None and ratio >= 10,
            )
        )
    return rows


def pipeline_command(quick: bool, runs: int) -> list[str]:
    return ["pipeline_floor.py", f"--loans={20_000 if quick else 100_000}", f"--runs={runs}"]


def pipeline_rows(r: dict[str, Any]) -> list[Row]:
    raw = (
        f"Kafka's own tools {_n(r['raw_per_s'], '/s')} (producer {_n(r['producer_per_s'], '/s')}, "
        f"consumer {_n(r['consumer_per_s'], '/s')}, {r['size']:.0f} B)"
    )
    return [
        Row(
            f"event pipeline, {kind} ({r['events']:,.0f} events)",
            f"{_n(r[key], ' events/s')}",
            raw,
            f"{100 * r[share]:.1f} %",
            ">= 30 %",
            r[share] >= 0.30,
        )
        for kind, key, share in (
            ("no effect", "no_effect_per_s", "no_effect_share"),
            ("penalty bookings applied", "bookings_per_s", "bookings_share"),
        )
    ]


def notifier_command(quick: bool, runs: int) -> list[str]:
    return ["notifier_triggers.py", f"--loans={100_000 if quick else 1_000_000}", f"--runs={runs}"]


def notifier_rows(r: dict[str, Any]) -> list[Row]:
    return [
        Row(
            f"notifier: the triggers of a {int(r['loans']):,}-loan close of business "
            f"({int(r['triggers']):,}) decided, recorded and sent (sandbox)",
            f"drain {r['total_s']:.2f} s (decide + record {r['decide_s']:.2f} s, "
            f"{_n(r['decisions_per_s'], ' decisions/s')}; send {r['send_s']:.2f} s)",
            f"close of business + publish {r['cob_s']:.2f} s",
            f"x{r['ratio']:.2f}",
            "<= x1.0",
            r["ratio"] <= 1.0,
        )
    ]


# -- the simulator ------------------------------------------------------------------------------


def simulation(out: Path, quick: bool, runs: int, log: Path) -> dict[str, Any]:
    loans, days = (300, 15) if quick else (1_000, 30)
    speeds, walls, passed = [], [], []
    with log.open("w") as f:
        for n in range(runs):
            where = out / f"simulation-{n + 1}"
            done = subprocess.run(
                [
                    sys.executable, "-m", "simulator", "run",
                    f"--loans={loans}", f"--days={days}", "--seed=42",
                    "--local-platform=bench_all_sim", "--base-port=8750",
                    f"--out={where}", "--no-progress",
                ],
                cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, check=False,
            )  # fmt: skip
            report = json.loads((where / "report.json").read_text("utf-8"))
            speeds.append(report["timings"]["loan_days_per_second"])
            walls.append(report["timings"]["wall_seconds"])
            passed.append(done.returncode == 0 and report["invariants_passed"])
    return {
        "loans": loans,
        "days": days,
        "runs": runs,
        "loan_days_per_second": statistics.median(speeds),
        "wall_seconds": statistics.median(walls),
        "invariants_passed": all(passed),
    }


def simulation_rows(r: dict[str, Any]) -> list[Row]:
    held = "every invariant held" if r["invariants_passed"] else "AN INVARIANT FAILED"
    return [
        Row(
            f"simulation, {r['loans']:,} loans x {r['days']} days, seed 42",
            f"{r['loan_days_per_second']:,.0f} loan-days/s ({r['wall_seconds']:.0f} s; {held})",
        )
    ]


BENCHES: dict[
    str, tuple[Callable[[bool, int], list[str]] | None, Callable[[dict[str, Any]], list[Row]]]
] = {
    "cob": (cob_command, cob_rows),
    "cured": (cured_command, cured_rows),
    "ledger": (ledger_command, ledger_rows),
    "pipeline": (pipeline_command, pipeline_rows),
    "notifier": (notifier_command, notifier_rows),
    "simulation": (None, simulation_rows),
}


def table(rows: list[Row], title: str) -> Table:
    t = Table(title=title, show_lines=True)
    for name in ("what", "figure", "baseline, same run", "ratio", "goal", "met"):
        t.add_column(name)
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "[red]no[/]")
        t.add_row(r.what, r.figure, r.baseline, r.ratio, r.goal, met)
    return t


def markdown(rows: list[Row], title: str) -> str:
    lines = [
        f"{title}\n",
        "| what | figure | baseline, same run | ratio | goal | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "no")
        lines.append(f"| {r.what} | {r.figure} | {r.baseline} | {r.ratio} | {r.goal} | {met} |")
    return "\n".join(lines) + "\n"


@app.command()
def main(
    quick: Annotated[bool, typer.Option(help="smaller sizes, one run each")] = False,
    runs: Annotated[
        int | None, typer.Option(help="runs per benchmark (default 3, 1 quick)")
    ] = None,
    only: Annotated[str, typer.Option(help="comma separated: " + ", ".join(BENCHES))] = "",
    out: Annotated[Path, typer.Option(help="logs, JSON and the table")] = ROOT / ".var/bench/all",
) -> None:
    n = runs or (1 if quick else 3)
    chosen = [b.strip() for b in only.split(",") if b.strip()] or list(BENCHES)
    unknown = [b for b in chosen if b not in BENCHES]
    if unknown:
        raise typer.BadParameter(f"unknown: {', '.join(unknown)}")
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    results: dict[str, Any] = {}
    failed: list[str] = []
    for name in chosen:
        command, to_rows = BENCHES[name]
        log, result = out / f"{name}.log", out / f"{name}.json"
        result.unlink(missing_ok=True)
        started = time.perf_counter()
        console.print(f"[bold]{name}[/] (log: {log})")
        if command is None:
            results[name] = simulation(out, quick, n, log)
        else:
            args = command(quick, n)
            with log.open("w") as f:
                done = subprocess.run(
                    [sys.executable, str(BENCH / args[0]), *args[1:], f"--json={result}"],
                    cwd=ROOT,
                    stdout=f,
                    stderr=subprocess.STDOUT,
                    check=False,
                )
            if done.returncode != 0 or not result.exists():
                failed.append(name)
                rows.append(Row(name, f"FAILED (exit {done.returncode}; see {log})"))
                continue
            results[name] = read_results(result)
        rows.extend(to_rows(results[name]))
        console.print(f"  done in {time.perf_counter() - started:.0f} s")
    title = (
        f"benchmarks, {'quick sizes, ' if quick else ''}medians of {n} run(s), "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    Console(width=220).print(table(rows, title))
    (out / "all.md").write_text(markdown(rows, title), "utf-8")
    (out / "all.json").write_text(json.dumps(results, indent=1), "utf-8")
    console.print(f"written: {out / 'all.md'}, {out / 'all.json'}")
    if failed:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
