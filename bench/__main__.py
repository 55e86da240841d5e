"""``python -m bench``: text throughput and API submit latency beside a no-op baseline, in one table."""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bench.load import LoadResult, Target, run_load
from bench.servers import BENCH_TEXT, Deployment, embedded_api, noop_baseline, redis_api

TEXT_TARGET_PER_S = 300.0
BODY = json.dumps({"text": BENCH_TEXT}).encode()
REASON_CHARS = 160

DeploymentFactory = Callable[[Path], AbstractContextManager[Deployment]]
out = Console()
if not out.is_terminal:
    out.width = 120  # piped (make bench | tee …): room for the notes column
err = Console(stderr=True)


@dataclass(frozen=True)
class LoadPlan:
    """How hard and how long to drive each server."""

    clients: int
    warmup: int
    requests: int


@dataclass
class TextOutcome:
    """The text engine's sentences/s, or why it could not be measured."""

    per_s: float | None
    detail: str


@dataclass
class ApiOutcome:
    """One server's load result, or why it could not be measured."""

    name: str
    result: LoadResult | None
    failure: str = ""


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def measure_text(n_sentences: int | None) -> TextOutcome:
    """Sentences/s of the text engine via ``bench.text_throughput.measure``; never raises."""
    try:
        from bench.text_throughput import measure

        result = measure() if n_sentences is None else measure(n_sentences=n_sentences)
        per_s = float(result["sentences_per_s"])
    except Exception as exc:
        return TextOutcome(None, _short(exc))
    return TextOutcome(per_s, _text_detail(result))


def _text_detail(result: dict[str, object]) -> str:
    parts = []
    if "sentences" in result:
        parts.append(f"{result['sentences']} sentences")
    if "texts" in result:
        parts.append(f"in {result['texts']} texts")
    if "single_text_ms" in result:
        parts.append(f"one text {result['single_text_ms']} ms")
    if "model_load_s" in result:
        parts.append(f"model load {result['model_load_s']} s")
    return ", ".join(parts)


def measure_api(name: str, start: DeploymentFactory, workdir: Path, plan: LoadPlan) -> ApiOutcome:
    """Start one deployment, drive it with the load plan, stop it; failures become the outcome."""
    err.print(f"[dim]measuring {name}…")
    try:
        with start(workdir) as deployment:
            headers = {**deployment.headers, "Content-Type": "application/json"}
            target = Target(deployment.name, deployment.url, headers, BODY)
            return ApiOutcome(name, run_load(target, plan.clients, plan.warmup, plan.requests))
    except Exception as exc:
        return ApiOutcome(name, None, _short(exc))


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}×" if base > 0 else "–"


def _api_row(table: Table, outcome: ApiOutcome, baseline: LoadResult | None) -> None:
    res = outcome.result
    if res is None:
        table.add_row(outcome.name, "–", "–", "–", "–", f"[red]failed: {outcome.failure}")
        return
    p50, p99 = res.percentile_ms(0.50), res.percentile_ms(0.99)
    if baseline is None:
        ratio = "–"
    elif res is baseline:
        ratio = "1.00× (is the baseline)"
    else:
        ratio = (f"p50 {_ratio(p50, baseline.percentile_ms(0.50))} · "
                 f"p99 {_ratio(p99, baseline.percentile_ms(0.99))}")
    errors = f"[red]{res.errors} not 202" if res.errors else "all 202"
    table.add_row(outcome.name, f"{p50:.1f}", f"{p99:.1f}", f"{res.requests_per_s:,.0f} req/s", ratio,
                  f"{len(res.latencies_s)} requests, {errors}")


def _text_row(table: Table, text: TextOutcome) -> None:
    if text.per_s is None:
        table.add_row("text engine throughput", "–", "–", "[yellow]unavailable", "–", text.detail)
        return
    table.add_row("text engine throughput", "–", "–", f"{text.per_s:,.1f} sentences/s",
                  f"{text.per_s / TEXT_TARGET_PER_S:.2f}× of {TEXT_TARGET_PER_S:.0f}/s target", text.detail)


def build_table(text: TextOutcome, apis: list[ApiOutcome], plan: LoadPlan) -> Table:
    """The one results table: text throughput, then each server against the baseline (first API row)."""
    table = Table(title="EchoDepth benchmarks",
                  caption=(f"POST submit latency, {plan.clients} concurrent clients, {plan.warmup} warm-up + "
                           f"{plan.requests} measured requests each; {os.cpu_count()} CPUs shared by "
                           "load generator and servers"))
    for col in ("benchmark", "p50 ms", "p99 ms", "throughput", "ratio", "notes"):
        table.add_column(col, justify="right" if col in ("p50 ms", "p99 ms", "throughput") else "left")
    _text_row(table, text)
    baseline = apis[0].result if apis else None
    for outcome in apis:
        _api_row(table, outcome, baseline)
    return table


def _report_errors(apis: list[ApiOutcome]) -> bool:
    """Print sample errors to stderr; True if any server failed or answered other than 202."""
    bad = False
    for outcome in apis:
        if outcome.result is None:
            bad = True
        elif outcome.result.errors:
            bad = True
            for sample in outcome.result.error_samples:
                err.print(f"[red]{outcome.name}: {sample}")
    return bad


def _on_sigterm(*_: object) -> None:
    raise SystemExit(143)  # unwinds through every finally: subprocesses stopped, databases dropped


def main(
    quick: Annotated[bool, typer.Option("--quick", help="Fewer requests and sentences.")] = False,
    skip_redis: Annotated[bool, typer.Option("--skip-redis", help="Skip Redis + PostgreSQL.")] = False,
    requests: Annotated[int | None, typer.Option(help="Measured requests each [1000; quick 200].")] = None,
    warmup: Annotated[int | None, typer.Option(help="Warm-up requests each [100; quick 50].")] = None,
    clients: Annotated[int, typer.Option(help="Concurrent clients.")] = 50,
    sentences: Annotated[int | None, typer.Option(help="Sentences for text throughput [quick 100].")] = None,
) -> None:
    """Measure and print text throughput and API submit latency against a no-op baseline."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    plan = LoadPlan(clients, warmup if warmup is not None else (50 if quick else 100),
                    requests if requests is not None else (200 if quick else 1000))
    factories: list[tuple[str, DeploymentFactory]] = [
        ("baseline no-op FastAPI", noop_baseline), ("API embedded (SQLite)", embedded_api)]
    if not skip_redis:
        factories.append(("API Redis + PostgreSQL", redis_api))
    with tempfile.TemporaryDirectory(prefix="echodepth-bench-") as tmp:
        apis = [measure_api(name, start, Path(tmp) / f"d{i}", plan)
                for i, (name, start) in enumerate(factories)]
    err.print("[dim]measuring text engine throughput…")
    text = measure_text(sentences if sentences is not None else (100 if quick else None))
    out.print(build_table(text, apis, plan))
    if _report_errors(apis):
        sys.exit(1)


if __name__ == "__main__":
    typer.run(main)
