"""``python -m bench.chaos.soak``: mixed jobs (text and a short WAV upload) for some minutes against the chaos
suite's scaled deployment, sampling every process's resident memory, open files and sockets, and the spool.

Reports the first sample after warm-up beside the last and the growth; the issue's bar is RSS within +10 %
and no growth in open files, connections or spool. Defaults: 30 minutes, 8 clients, a sample every 30 s.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.chaos.cluster import Cluster, Proc
from tests.chaos.corpus import small_wav

__all__ = ["Sample", "main"]


@dataclass(frozen=True)
class Sample:
    """One process at one moment."""

    rss_mb: float
    files: int
    sockets: int


def sample(proc: Proc) -> Sample:
    """RSS, open file descriptors and sockets of a live process."""
    assert proc.proc is not None
    pid = proc.proc.pid
    rss = next(
        int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    links = [p.readlink() for p in Path(f"/proc/{pid}/fd").iterdir()]
    return Sample(rss, len(links), sum(1 for t in links if str(t).startswith("socket:")))


def _client(cluster: Cluster, key: str, stop: threading.Event, errors: list[str]) -> None:
    wav = small_wav(3.0)
    n = 0
    while not stop.is_set():
        n += 1
        if n % 4:
            r = cluster.request(
                "POST", "/v1/analyse/text", key, json={"text": f"Soak {n}: calm, then pleased."}
            )
        else:
            r = cluster.request("POST", "/v1/analyse/audio", key, files={"file": ("s.wav", wav, "audio/wav")})
        if r.status_code not in (202, 429):
            errors.append(f"{r.status_code} {r.text[:100]}")
        stop.wait(0.5)


def _table(first: dict[str, Sample], last: dict[str, Sample]) -> str:
    lines = [
        "| process | RSS MB after warm-up | RSS MB at end | growth | files | sockets |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name in first:
        a, b = first[name], last[name]
        growth = (b.rss_mb - a.rss_mb) / a.rss_mb * 100
        rss = f"{a.rss_mb:.0f} | {b.rss_mb:.0f} | {growth:+.1f} %"
        lines.append(f"| {name} | {rss} | {a.files}→{b.files} | {a.sockets}→{b.sockets} |")
    return "\n".join(lines)


def main() -> None:
    """Run the soak and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warmup-minutes", type=float, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--every", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="echodepth-soak-") as tmp:
        cluster = Cluster(Path(tmp), extra={"LOG_LEVEL": "WARNING"})
        stop, errors = threading.Event(), []
        try:
            cluster.start()
            key = cluster.new_key(tier="enterprise")
            threads = [
                threading.Thread(target=_client, args=(cluster, key, stop, errors), daemon=True)
                for _ in range(args.clients)
            ]
            for t in threads:
                t.start()
            procs = [*cluster.apis, *cluster.workers]
            time.sleep(args.warmup_minutes * 60)
            first = {p.name: sample(p) for p in procs}
            spool_first = len(cluster.spool_files())
            end = time.monotonic() + (args.minutes - args.warmup_minutes) * 60
            while time.monotonic() < end:
                time.sleep(min(args.every, max(0.0, end - time.monotonic())))
            last = {p.name: sample(p) for p in procs}
            spool_last = len(cluster.spool_files())
            stop.set()
            for t in threads:
                t.join(timeout=60)
            mix = f"{args.clients} clients (3 text : 1 audio), warm-up {args.warmup_minutes} min"
            print(f"{args.minutes:.0f} min soak, {mix}")
            print(_table(first, last))
            print(f"spool files {spool_first}→{spool_last}; client errors {len(errors)} {errors[:3]}")
        finally:
            stop.set()
            cluster.close()


if __name__ == "__main__":
    main()
