"""``python -m bench.chaos.load``: N concurrent clients (submit, poll, fetch the result) for some minutes
against the chaos suite's scaled deployment (own Redis and PostgreSQL, two workers, two APIs; webhooks to a
receiver), beside the do-nothing app (``bench.noop_app``) driven the same way in the same run.

Reports p50/p99 per route, every error other than a documented 429, and whether every accepted job's
result and webhook arrived. Defaults are the issue's: 200 clients for 5 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.servers import noop_baseline
from tests.chaos.checks import accepted_jobs
from tests.chaos.cluster import Cluster
from tests.chaos.services import wait_until
from tests.emulators.webhook_receiver import webhook_receiver

__all__ = ["Stats", "main"]

TEXT = "Call {n}: I am really pleased with how the demo went, though the price still worries me."


@dataclass
class Stats:
    """Latencies by route, unexpected answers, documented 429s, the accepted job ids."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    throttled: int = 0
    jobs: list[str] = field(default_factory=list)

    def timed(self, route: str, started: float) -> None:
        self.latencies[route].append(time.perf_counter() - started)

    def percentile_ms(self, route: str, q: float) -> float:
        """Nearest-rank percentile of a route's latencies."""
        ordered = sorted(self.latencies[route])
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else math.nan


async def _call(
    client: httpx.AsyncClient, stats: Stats, route: str, method: str, url: str, **kw: object
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        r = await client.request(method, url, **kw)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        stats.errors.append(f"{route}: {type(exc).__name__}")
        return None
    stats.timed(route, started)
    if r.status_code == 429:
        stats.throttled += 1
        await asyncio.sleep(float(r.headers.get("retry-after", "1")))
        return None
    return r


async def _job(client: httpx.AsyncClient, stats: Stats, n: int) -> None:
    r = await _call(
        client, stats, "POST /v1/analyse/text", "POST", "/v1/analyse/text", json={"text": TEXT.format(n=n)}
    )
    if r is None or r.status_code != 202:
        if r is not None:
            stats.errors.append(f"submit {r.status_code} {r.text[:120]}")
        return
    job_id = str(r.json()["job_id"])
    stats.jobs.append(job_id)
    while True:
        await asyncio.sleep(0.5)
        r = await _call(client, stats, "GET /v1/result (poll)", "GET", f"/v1/result/{job_id}")
        if r is not None and r.status_code != 200:
            stats.errors.append(f"poll {r.status_code}")
            return
        if r is not None and r.json()["status"] in ("completed", "failed"):
            break
    r = await _call(client, stats, "GET /v1/jobs", "GET", "/v1/jobs", params={"limit": 10})
    if r is not None and r.status_code != 200:
        stats.errors.append(f"list {r.status_code}")


async def _client(base: str, key: str, until: float, stats: Stats, first: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        n = first
        while time.monotonic() < until:
            await _job(client, stats, n)
            n += 1_000_000


async def _noop_client(url: str, until: float, stats: Stats) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        while time.monotonic() < until:
            await _call(client, stats, "POST /noop (baseline)", "POST", url, json={"text": TEXT})
            await asyncio.sleep(0.5)  # the same think time as a poll


async def _drive(cluster: Cluster, key: str, clients: int, seconds: float, noop_url: str) -> Stats:
    stats = Stats()
    until = time.monotonic() + seconds
    apis = [cluster.api_url(n) for n in range(len(cluster.apis))]
    tasks = [_client(apis[i % len(apis)], key, until, stats, i) for i in range(clients)]
    tasks += [_noop_client(noop_url, until, stats) for _ in range(clients)]
    await asyncio.gather(*tasks)
    return stats


def _report(stats: Stats, cluster: Cluster, missing_webhooks: int) -> str:
    states = cluster.job_states(stats.jobs)
    done = sum(1 for s, _ in states.values() if s == "completed")
    lines = ["| route | requests | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    for route in sorted(stats.latencies):
        p50, p99 = stats.percentile_ms(route, 0.5), stats.percentile_ms(route, 0.99)
        lines.append(f"| {route} | {len(stats.latencies[route])} | {p50:.0f} | {p99:.0f} |")
    lines.append("")
    lines.append(
        f"jobs accepted {len(stats.jobs)}, completed {done}, webhooks missing {missing_webhooks}; "
        f"429s {stats.throttled}; other errors {len(stats.errors)} {stats.errors[:5]}"
    )
    return "\n".join(lines)


def main() -> None:
    """Run the load and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="echodepth-load-") as tmp, webhook_receiver() as receiver:
        cluster = Cluster(Path(tmp), extra={"LOG_LEVEL": "WARNING", "WORKER_THREADS": "4"})
        try:
            cluster.start()
            key = cluster.new_key(tier="enterprise")
            cluster.subscribe(key, receiver, ["analysis.completed"])
            with noop_baseline(Path(tmp) / "noop") as noop:
                stats = asyncio.run(_drive(cluster, key, args.clients, args.seconds, noop.url))
            with contextlib.suppress(AssertionError):
                wait_until(lambda: all(accepted_jobs(receiver)[j] for j in stats.jobs), 120, "webhooks")
            missing = sum(1 for j in stats.jobs if not accepted_jobs(receiver)[j])
            print(f"{args.clients} clients for {args.seconds:.0f} s, two APIs and two workers")
            print(_report(stats, cluster, missing))
        finally:
            cluster.close()


if __name__ == "__main__":
    main()
