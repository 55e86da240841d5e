"""Voice engine speed: real-time factor per stage and peak RSS, 1-minute vs 30-minute input.

Each stage runs in its own subprocess so its peak RSS is its own: ``VmHWM`` (Linux carries the spawning
process's high-water mark into a child's ``ru_maxrss`` at exec); ASR workers' figure is their largest
``ru_maxrss``, which for the same reason is at least the stage process's RSS when it started them.
Input: the committed espeak-ng fixtures tiled to length (16 kHz WAV written block by block).

    .venv/bin/python -m bench.voice_rtf [--short-min 1] [--long-min 30] [--no-long-asr]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "audio"
RTF_TARGET = {"prosody": 0.05, "full": 0.4}

_STAGE = r"""
import json, resource, sys, time
sys.path.append({root!r})  # after PYTHONPATH: the tree under test (bench.trees) first
stage, path = sys.argv[1], sys.argv[2]
from engine.media import iter_audio
from engine.voice import analyse_audio
t = time.perf_counter()
if stage == "decode":
    n = sum(b.size for b in iter_audio(path))
    timings = {{}}
else:
    r = analyse_audio(path, asr=(stage == "full"))
    timings = r.voice["timings"]
elapsed = time.perf_counter() - t
own = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) / 1024
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({{"elapsed": elapsed, "rss_mb": own, "child_rss_mb": kids, "timings": timings}}))
"""


def make_input(path: Path, minutes: float) -> float:
    """Tile the speech fixtures into a ``minutes``-long 16 kHz WAV without holding it in memory."""
    from engine.media import decode_audio

    source = np.concatenate(
        [decode_audio(FIXTURES / "speech_pauses_um.wav"), decode_audio(FIXTURES / "two_speakers.flac")]
    )
    pcm = (np.clip(source, -1, 1) * 32767).astype("<i2").tobytes()
    total = int(minutes * 60 * 16000)
    written = 0
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        while written < total:
            n = min(len(pcm) // 2, total - written)
            w.writeframes(pcm[: 2 * n])
            written += n
    return total / 16000


def _run_stage(stage: str, path: Path) -> dict[str, Any]:
    code = _STAGE.format(root=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code, stage, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(short_min: float = 1.0, long_min: float = 30.0, long_asr: bool = True) -> dict[str, Any]:
    """RTF per stage (decode, prosody+pauses, ASR) and peak RSS for a short and a long input."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, minutes in (("short", short_min), ("long", long_min)):
            path = Path(tmp) / f"{label}.wav"
            seconds = make_input(path, minutes)
            row: dict[str, Any] = {"minutes": minutes}
            stages = ["decode", "prosody"] + (["full"] if label == "short" or long_asr else [])
            for stage in stages:
                r = _run_stage(stage, path)
                row[stage] = {
                    "rtf": r["elapsed"] / seconds,
                    "rss_mb": r["rss_mb"],
                    "child_rss_mb": r["child_rss_mb"],
                    "timings": r["timings"],
                }
            if "full" in row:
                row["asr_rtf"] = max(0.0, row["full"]["rtf"] - row["prosody"]["rtf"])
            results[label] = row
            path.unlink()
    return results


def _table(results: dict[str, Any]) -> str:
    lines = [
        f"{'input':>8} {'stage':>10} {'RTF':>7} {'target':>7} {'peak RSS MB':>12} {'ASR workers MB':>15}"
    ]
    for row in results.values():
        for stage in ("decode", "prosody", "full"):
            if stage in row:
                s = row[stage]
                target = f"{RTF_TARGET[stage]:.2f}" if stage in RTF_TARGET else ""
                # Only the full stage has ASR workers (other children, e.g. the lscpu that joblib runs
                # for k-means, report the stage's own RSS: see the module docstring).
                workers = f"{s['child_rss_mb']:15.0f}" if stage == "full" else f"{'–':>15}"
                head = f"{row['minutes']:>6.0f}m {stage:>10} {s['rtf']:7.4f} {target:>7}"
                lines.append(f"{head} {s['rss_mb']:12.0f} {workers}")
        if "asr_rtf" in row:
            lines.append(f"{row['minutes']:>6.0f}m {'ASR (Δ)':>10} {row['asr_rtf']:7.4f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--short-min", type=float, default=1.0)
    parser.add_argument("--long-min", type=float, default=30.0)
    parser.add_argument("--no-long-asr", action="store_true", help="skip ASR on the long input")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args.short_min, args.long_min, long_asr=not args.no_long_asr)
    print(json.dumps(results, indent=1) if args.json else _table(results))


if __name__ == "__main__":
    main()
