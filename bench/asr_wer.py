"""ASR: word error rate, real-time factor and peak RSS of each recogniser, on the same clips in one run.

Every recogniser that ``engine.voice.asr.available_models()`` lists (pocketsphinx always; Whisper tiny.en
with the ``asr`` extra) runs in its own subprocess through the engine's public ``transcribe`` and
``transcribe_parallel``, so its peak RSS (``VmHWM``) is its own. Labelled sets:

- ``librivox``: the five LibriVox clips committed in tests/fixtures/audio/librivox (public domain; from
  pocketsphinx's own test data, which if anything favours it);
- ``ravdess``: the 240 RAVDESS clips in ../shared/data/speech/ravdess_dev when present (16 actors, acted
  emotions, one sentence "Kids are talking by the door"; CC BY-NC-SA: read here, never committed);
- ``--extra DIR``: any ``NAME.wav`` + ``NAME.txt`` pairs (e.g. the read passages in the moonshine-voice
  wheel's ``assets/``, with their book text).

WER is corpus-level: (substitutions + deletions + insertions) / reference words, after one normalisation for
both (lower case, hyphens to spaces, punctuation dropped, Mr/Mrs/Dr spelt out). Speed: every clip joined into
one recording (1 s of silence between clips), transcribed whole in one process and split between two worker
processes (what ``analyse_audio`` does from 60 s), each timed as processing seconds per audio second.

    .venv/bin/python -m bench.asr_wer [--extra DIR] [--data ../shared/data] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LIBRIVOX = ROOT / "tests" / "fixtures" / "audio" / "librivox"
DATA = ROOT.parent / "shared" / "data"
RAVDESS_STATEMENTS = {"01": "kids are talking by the door", "02": "dogs are sitting by the door"}
GAP_S = 1.0
_SPELL = {"mr": "mister", "mrs": "missus", "dr": "doctor"}

_WORKER = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
model, manifest, long_path, duration = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
from engine.voice import asr
clips = json.load(open(manifest))
t = time.perf_counter()
asr.loaded(model, threads=2)
load_s = time.perf_counter() - t
hyps = {{}}
for c in clips:
    hyps[c["key"]] = " ".join(w.text for w in asr.transcribe(c["path"], max_seconds=3600, model=model))
t = time.perf_counter()
whole = asr.transcribe(long_path, max_seconds=3600, model=model)
whole_s = time.perf_counter() - t
t = time.perf_counter()
split = asr.transcribe_parallel(long_path, max_seconds=3600, duration=duration, workers=2, model=model)
split_s = time.perf_counter() - t
own = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) / 1024
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({{"load_s": load_s, "hyps": hyps, "whole": " ".join(w.text for w in whole),
    "whole_s": whole_s, "split_s": split_s, "rss_mb": own, "worker_rss_mb": kids,
    "timed": all(w.end >= w.start for w in whole) and len(whole) > 0}}))
"""


def normalise(text: str) -> list[str]:
    """Words compared for WER: lower case, hyphens split, punctuation dropped, titles spelt out."""
    words = re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("-", " ")).split()
    return [_SPELL.get(w, w) for w in (w.strip("'") for w in words) if w]


def edits(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance in words (substitutions + deletions + insertions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def wer(pairs: list[tuple[str, str]]) -> float:
    """Corpus WER over (reference, hypothesis) pairs."""
    n = sum(len(normalise(r)) for r, _ in pairs)
    return sum(edits(normalise(r), normalise(h)) for r, h in pairs) / max(1, n)


def clips(data: Path, extra: Path | None) -> list[dict[str, str]]:
    """Every labelled clip: set, key, path and reference text."""
    out = []
    for line in (LIBRIVOX / "transcripts.tsv").read_text().splitlines():
        name, text = line.split("\t")
        out.append({"set": "librivox", "key": name, "path": str(LIBRIVOX / f"{name}.flac"), "ref": text})
    for path in sorted((data / "speech" / "ravdess_dev").glob("*.flac")):
        statement = path.stem.split("-")[4]
        out.append(
            {"set": "ravdess", "key": path.stem, "path": str(path), "ref": RAVDESS_STATEMENTS[statement]}
        )
    for path in sorted(extra.glob("*.wav")) if extra else []:
        ref = path.with_suffix(".txt")
        if ref.is_file():
            out.append({"set": "extra", "key": path.stem, "path": str(path), "ref": ref.read_text()})
    return out


def join(items: list[dict[str, str]], path: Path) -> float:
    """Write every clip, 1 s of silence apart, as one 16 kHz WAV; its duration in seconds."""
    from engine.media import decode_audio

    gap = np.zeros(int(GAP_S * 16000), dtype="<i2")
    total = 0
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        for c in items:
            pcm = (np.clip(decode_audio(c["path"]), -1, 1) * 32767).astype("<i2")
            w.writeframes(pcm.tobytes() + gap.tobytes())
            total += pcm.size + gap.size
    return total / 16000


def run_model(model: str, manifest: Path, long_path: Path, duration: float) -> dict[str, Any]:
    """One recogniser's hypotheses, timings and memory, measured in a fresh process."""
    code = _WORKER.format(root=str(ROOT))
    args = [sys.executable, "-c", code, model, str(manifest), str(long_path), str(duration)]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def measure(data: Path = DATA, extra: Path | None = None) -> dict[str, Any]:
    """WER per set and overall, RTF whole and split, load time and peak RSS for every recogniser."""
    from engine.voice import asr

    items = clips(data, extra)
    sets = sorted({c["set"] for c in items}, key=["librivox", "ravdess", "extra"].index)
    results: dict[str, Any] = {"sets": {s: _set_info(items, s) for s in sets}, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        manifest, long_path = Path(tmp) / "clips.json", Path(tmp) / "all.wav"
        manifest.write_text(json.dumps(items))
        duration = join(items, long_path)
        results["long_s"] = duration
        for model in asr.available_models():
            r = run_model(model, manifest, long_path, duration)
            row = {s: wer([(c["ref"], r["hyps"][c["key"]]) for c in items if c["set"] == s]) for s in sets}
            row["joined"] = wer([(" ".join(c["ref"] for c in items), r["whole"])])
            row.update(
                rtf=r["whole_s"] / duration,
                rtf_2proc=r["split_s"] / duration,
                load_s=r["load_s"],
                rss_mb=r["rss_mb"],
                worker_rss_mb=r["worker_rss_mb"],
                word_timings=r["timed"],
            )
            results["models"][model] = row
    return results


def _set_info(items: list[dict[str, str]], name: str) -> dict[str, int]:
    chosen = [c for c in items if c["set"] == name]
    return {"clips": len(chosen), "words": sum(len(normalise(c["ref"])) for c in chosen)}


def table(results: dict[str, Any]) -> str:
    """The results as one Markdown table."""
    sets = list(results["sets"])
    head = [f"WER {s} ({v['clips']} clips, {v['words']} words)" for s, v in results["sets"].items()]
    cols = ["recogniser", *head, f"WER joined ({results['long_s']:.0f} s)", "RTF 1 proc", "RTF 2 procs"]
    cols += ["load s", "peak RSS MB", "worker RSS MB"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for model, r in results["models"].items():
        cells = [model, *(f"{100 * r[s]:.1f} %" for s in sets), f"{100 * r['joined']:.1f} %"]
        cells += [f"{r['rtf']:.3f}", f"{r['rtf_2proc']:.3f}", f"{r['load_s']:.1f}"]
        cells += [f"{r['rss_mb']:.0f}", f"{r['worker_rss_mb']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Print the table (and write the figures as JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--extra", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = measure(args.data, args.extra)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
