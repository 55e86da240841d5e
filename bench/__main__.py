"""``python -m bench`` (``make bench``): one table, every figure beside its baseline measured in the same run.

Baselines: submit latency beside a do-nothing FastAPI app on the same uvicorn; every other figure beside
the same probe run on the baseline commit (``bench.trees.BASELINE_REF``, main before issue 20), the two
trees taking turns. The table, the load average and py-spy summaries of the API process under submit
load go to ``docs/performance.md`` (between its ``bench`` markers) with the commit.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bench.servers import BENCH_TEXT
from bench.trees import BASELINE_REF, ROOT, Tree, baseline_tree, run_probe, this_tree

BODY = json.dumps({"text": BENCH_TEXT}).encode()
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
out = Console()
if not out.is_terminal:
    out.width = 160
err = Console(stderr=True)


@dataclass
class Row:
    """One line of the table."""

    figure: str
    value: str
    baseline: str
    goal: str
    met: bool | None
    note: str = ""


@dataclass
class Run:
    """What one bench run measured."""

    plan: Plan
    rows: list[Row] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    load_start: tuple[float, float, float] = field(default_factory=os.getloadavg)


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    quick: bool
    redis: bool
    streams: bool
    rss: bool
    clients: int
    requests: int
    warmup: int
    repeats: int


def _probe(tree: Tree, name: str, *args: str) -> dict[str, Any] | None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')} {name} {' '.join(args)} on {tree.label}…")
    try:
        return run_probe(tree, name, *args)
    except Exception as exc:  # the boundary: a failed probe becomes a table note, the run goes on
        err.print(f"[red]{name} on {tree.label}: {exc}")
        return None


def _median_run(
    trees: list[Tree], name: str, args: list[str], key: str, repeats: int
) -> list[dict[str, Any]]:
    """Probe ``name``'s result per tree with the median ``key`` over ``repeats`` rounds, the trees taking
    turns in alternating order (A B, B A, A B…: neither always runs on the machine the other has warmed);
    an empty dict for a tree whose every round failed."""
    runs: list[list[dict[str, Any]]] = [[] for _ in trees]
    for r in range(repeats):
        order = list(enumerate(trees))
        for i, tree in order if r % 2 == 0 else order[::-1]:
            res = _probe(tree, name, *args)
            if res is not None:
                runs[i].append(res)
    return [sorted(v, key=lambda res: float(res[key]))[len(v) // 2] if v else {} for v in runs]


def _median_of(trees: list[Tree], name: str, args: list[str], key: str, repeats: int) -> list[float | None]:
    """``key`` of :func:`_median_run`'s results."""
    return [float(res[key]) if key in res else None for res in _median_run(trees, name, args, key, repeats)]


def _fmt(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def _engine_rows(run: Run, head: Tree, base: Tree) -> None:
    q, trees, reps = run.plan.quick, [head, base], run.plan.repeats
    face = _median_of(trees, "face", ["--frames", "100" if q else "300"], "fps_per_core", reps)
    run.rows.append(Row("face pipeline frames/s per core (640×360, 1 face)", _fmt(face[0]),
                        f"{base.commit}: {_fmt(face[1])}", "≥ 120", _at_least(face[0], 120)))
    secs = "20" if q else "60"
    video = _median_run(trees, "video", ["--seconds", secs], "rtf_cpu", 1)
    now, was = video[0].get("rtf_cpu"), video[1].get("rtf_cpu")
    run.rows.append(Row(f"video CPU-s per media s (720p30 → 5 fps, audio + ASR, {secs} s)", _fmt(now, 3),
                        f"{base.commit}: {_fmt(was, 3)}", "RTF ≤ 0.08 on 2 cores = ≤ 0.16",
                        _at_most(now, 0.16), f"wall RTF {_fmt(video[0].get('rtf_wall'), 3)} (baseline "
                        f"{_fmt(video[1].get('rtf_wall'), 3)}) at this load"))
    audio = _median_of(trees, "audio", ["--minutes", "0.5" if q else "1"], "rtf_cpu", 1)
    run.rows.append(Row("audio CPU-s per media s (speech, ASR on)", _fmt(audio[0], 3),
                        f"{base.commit}: {_fmt(audio[1], 3)}", "–", None))
    text = _median_of(trees, "text", ["--sentences", "400" if q else "1000"], "per_core", reps)
    run.rows.append(Row("text jobs/s per core (engine, 4 sentences a job)", _fmt(text[0]),
                        f"{base.commit}: {_fmt(text[1])}", "–", None))


def _rss_rows(run: Run, head: Tree) -> None:
    long_s = "600" if run.plan.quick else "1800"
    short, long = _probe(head, "rss", "--seconds", "60"), _probe(head, "rss", "--seconds", long_s)
    if short is None or long is None:
        run.failures.append("peak RSS")
        return
    ratio = long["peak_rss_mb"] / short["peak_rss_mb"]
    run.rows.append(Row(f"analyse_video peak RSS, {int(long_s) // 60} vs 1 min (MB)",
                        f"{long['peak_rss_mb']:.0f}", f"1 min: {short['peak_rss_mb']:.0f}",
                        "flat (ratio ≤ 1.05)", ratio <= 1.05, f"ratio {ratio:.3f}"))


def _at_most(x: float | None, limit: float) -> bool | None:
    return None if x is None else x <= limit


def _at_least(x: float | None, limit: float) -> bool | None:
    return None if x is None else x >= limit


def _api_args(plan: Plan, kind: str, profile: Path | None = None) -> list[str]:
    args = ["--kind", kind, "--clients", str(plan.clients), "--warmup", str(plan.warmup),
            "--requests", str(plan.requests)]
    return args + (["--profile", str(profile)] if profile else [])


def _api_rows(run: Run, head: Tree, base: Tree, tmp: Path) -> None:
    from bench.flame import as_text

    noop = _probe(head, "api", *_api_args(run.plan, "noop"))
    kinds = ["embedded"] + (["scaled"] if run.plan.redis else [])
    for kind in kinds:
        prof = {t.commit: tmp / f"{kind}-{t.commit}.raw" for t in (head, base)}
        now = _probe(head, "api", *_api_args(run.plan, kind, prof[head.commit]))
        then = _probe(base, "api", *_api_args(run.plan, kind, prof[base.commit]))
        run.rows += _submit_rows(kind, now, then, noop, base.commit)
        for tree in (base, head):
            if prof[tree.commit].exists():
                run.profiles.append(as_text(f"API process ({kind}) under submit load, {tree.label}",
                                            prof[tree.commit]))


def _submit_rows(kind: str, now: dict[str, Any] | None, then: dict[str, Any] | None,
                 noop: dict[str, Any] | None, base: str) -> list[Row]:
    if now is None or noop is None:
        return [Row(f"submit p99, {kind}", "failed", "–", "–", False)]
    limit = 150.0 if kind == "embedded" else 50.0
    p99, base99 = now["p99_ms"], noop["p99_ms"]
    ok = p99 <= min(limit, 5 * base99) and not now["errors"]
    was = f"; {base}: {then['p50_ms']:.1f} / {then['p99_ms']:.1f}" if then else ""
    rows = [Row(f"submit p50 / p99 ms, 50 clients, {kind}", f"{now['p50_ms']:.1f} / {p99:.1f}",
                f"no-op: {noop['p50_ms']:.1f} / {base99:.1f}{was}", f"p99 ≤ 5× no-op and ≤ {limit:.0f} ms",
                ok, f"{p99 / base99:.0f}× no-op; {now['rps']:.0f} req/s; {now['errors']} not 202")]
    if now.get("api_peak_rss_mb"):
        then_rss = f"{base}: {then['api_peak_rss_mb']:.0f}" if then and then.get("api_peak_rss_mb") else "–"
        rows.append(Row(f"API process peak RSS under submit load, {kind} (MB)",
                        f"{now['api_peak_rss_mb']:.0f}", then_rss, "–", None))
    return rows


def _scaleout_rows(run: Run, head: Tree) -> None:
    jobs = "500" if run.plan.quick else "1500"
    one, two = _probe(head, "scaleout", "--workers", "1", "--jobs", jobs), _probe(
        head, "scaleout", "--workers", "2", "--jobs", jobs)
    if one is None or two is None:
        run.failures.append("scale-out")
        return
    run.rows.append(Row("text jobs completed/s, scaled, 2 worker processes", _fmt(two["jobs_per_s"]),
                        f"1 worker: {_fmt(one['jobs_per_s'])}", "–", None,
                        f"{jobs} jobs from 50 clients; API, PostgreSQL, Redis and workers on the same cores"))


def _stream_rows(run: Run, head: Tree, base: Tree) -> None:
    args = ["--seconds", "10", "--ramp", "6"] if run.plan.quick else ["--seconds", "60", "--ramp", "20"]
    now, then = _probe(head, "streams", *args), _probe(base, "streams", *args)
    if now is None:
        run.failures.append("streams")
        return
    fit = _streams_fitting(now)
    run.rows.append(Row("concurrent 15 fps streams, p95 ≤ 100 ms and ≤ 1 % dropped", str(fit),
                        f"{base.commit}: {_streams_fitting(then) if then else '–'}", "≥ 4 on 2 cores",
                        fit >= 4, _sweep(now)))
    one, was = now["rows"][0], then["rows"][0] if then else None
    run.rows.append(Row("one 15 fps stream p95 ms", _fmt(one["p95_ms"]),
                        f"{base.commit}: {_fmt(was['p95_ms']) if was else '–'}", "≤ 40",
                        _at_most(one["p95_ms"], 40), f"{one['dropped']} dropped"))


def _drop_share(row: dict[str, Any]) -> float:
    return float(row["dropped"]) / max(1, row["sent"])


def _streams_fitting(result: dict[str, Any]) -> int:
    fit = 0
    for row in result["rows"]:
        if row["p95_ms"] is None or row["p95_ms"] > 100 or _drop_share(row) > 0.01:
            break
        fit = row["streams"]
    return fit


def _sweep(result: dict[str, Any]) -> str:
    return "; ".join(f"{r['streams']}: p95 {r['p95_ms']} ms, {r['dropped']} dropped" for r in result["rows"])


def table(run: Run) -> Table:
    """The rich table for the terminal."""
    t = Table(title="EchoDepth benchmarks", caption=_caption(run))
    for col in ("figure", "this commit", "baseline (same run)", "goal", "met", "notes"):
        t.add_column(col)
    for r in run.rows:
        t.add_row(r.figure, r.value, r.baseline, r.goal, _met(r.met), r.note)
    return t


def _met(met: bool | None) -> str:
    return "–" if met is None else ("yes" if met else "NO")


def _caption(run: Run) -> str:
    end = os.getloadavg()
    return (f"load average {run.load_start[0]:.1f} at start, {end[0]:.1f} at end ({os.cpu_count()} CPUs); "
            f"{run.plan.clients} clients, {run.plan.requests} requests a server")


def markdown(run: Run, head: Tree, base: Tree) -> str:
    """The table and profiles as the generated part of docs/performance.md."""
    lines = [BEGIN, f"Measured by `make bench{' -- --quick' if run.plan.quick else ''}` on commit "
             f"`{head.commit}` beside baseline `{base.commit}`, {time.strftime('%Y-%m-%d %H:%M')}; "
             f"{_machine()}; {_caption(run)}.", "",
             "| figure | this commit | baseline (same run) | goal | met | notes |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r.figure} | {r.value} | {r.baseline} | {r.goal} | {_met(r.met)} | {r.note} |"
              for r in run.rows]
    if run.failures:
        lines += ["", f"Not measured in this run: {', '.join(run.failures)}."]
    for block in run.profiles:
        lines += ["", "```text", block, "```"]
    return "\n".join(lines + [END])


def _machine() -> str:
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
    cpu = names[0] if names else platform.processor()
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def write_doc(text: str) -> None:
    """Replace the generated part of docs/performance.md (or append it)."""
    doc = DOC.read_text() if DOC.exists() else "# Performance\n"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + text + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip() + "\n\n" + text + "\n"
    DOC.write_text(doc)


def _on_sigterm(*_: object) -> None:
    raise SystemExit(143)  # unwinds through every finally: subprocesses stopped, databases dropped


def main(
    quick: Annotated[bool, typer.Option("--quick", help="Shorter clips and runs.")] = False,
    skip_redis: Annotated[bool, typer.Option("--skip-redis", help="Skip Redis + PostgreSQL.")] = False,
    skip_streams: Annotated[bool, typer.Option("--skip-streams", help="Skip the live-stream sweep.")] = False,
    skip_rss: Annotated[bool, typer.Option("--skip-rss", help="Skip the 1 vs 30 min RSS runs.")] = False,
    write: Annotated[bool, typer.Option(help="Write the table to docs/performance.md.")] = True,
    baseline: Annotated[str, typer.Option(help="Baseline commit.")] = BASELINE_REF,
    clients: Annotated[int, typer.Option(help="Concurrent clients.")] = 50,
) -> None:
    """Measure everything, print one table, write it to docs/performance.md."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    plan = Plan(quick, not skip_redis, not skip_streams, not skip_rss, clients,
                200 if quick else 1000, 50 if quick else 100, 1 if quick else 3)
    run, head = Run(plan), this_tree()
    with baseline_tree(baseline) as base, tempfile.TemporaryDirectory(prefix="echodepth-bench-") as tmp:
        steps: list[Callable[[], None]] = [lambda: _api_rows(run, head, base, Path(tmp)),
                                           lambda: _engine_rows(run, head, base)]
        if plan.redis:
            steps.append(lambda: _scaleout_rows(run, head))
        if plan.streams:
            steps.append(lambda: _stream_rows(run, head, base))
        if plan.rss:
            steps.append(lambda: _rss_rows(run, head))
        for step in steps:
            step()
        out.print(table(run))
        for block in run.profiles:
            out.print(block, markup=False, highlight=False)
        if write:
            write_doc(markdown(run, head, base))
            err.print(f"[dim]wrote {DOC.relative_to(ROOT)}")
    if any(r.met is False for r in run.rows):
        sys.exit(1)


if __name__ == "__main__":
    typer.run(main)
