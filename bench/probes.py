"""One measurement a run, printed as one JSON line: ``python -m bench.probes <probe> [options]``.

``bench.trees.run_probe`` runs these on this checkout and on the baseline commit, so both are measured by
the same code in a fresh process. CPU figures count the probe process and its children (ASR workers), so a
loaded machine, which stretches wall time, moves them less; the load average is reported with each.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(add_completion=False)


def _emit(result: dict[str, Any]) -> None:
    result["load"] = round(os.getloadavg()[0], 1)
    engine = sys.modules.get("engine")
    if engine is not None and engine.__file__:  # which tree was measured (bench.trees)
        result["tree"] = str(Path(engine.__file__).resolve().parents[1])
    print(json.dumps(result))


def _cpu_s(children: bool = True) -> float:
    """User + system CPU seconds of this process (and of its waited-for children)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = own.ru_utime + own.ru_stime
    if children:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        total += kids.ru_utime + kids.ru_stime
    return total


@contextmanager
def _timed() -> Iterator[dict[str, float]]:
    """Wall and CPU seconds of the block, filled in when it ends."""
    out: dict[str, float] = {}
    w0, c0 = time.perf_counter(), _cpu_s()
    yield out
    out["wall_s"], out["cpu_s"] = time.perf_counter() - w0, _cpu_s() - c0


@app.command()
def face(frames: Annotated[int, typer.Option()] = 300) -> None:
    """Face pipeline (landmarker + describe_face) on one 640×360 frame with one face, VIDEO mode."""
    from bench.face_video import _frame
    from engine.face import Landmarker, describe_face

    rgb = _frame((640, 360))
    with Landmarker(video=True) as lm:
        for i in range(10):
            lm.detect(rgb, i / 30)
        with _timed() as t:
            for i in range(frames):
                [describe_face(f) for f in lm.detect(rgb, (10 + i) / 30)]
    _emit({"frames": frames, "fps_per_core": frames / t["cpu_s"], "fps_wall": frames / t["wall_s"],
           "cpu_ms_per_frame": 1000 * t["cpu_s"] / frames})


@app.command()
def video(seconds: Annotated[float, typer.Option()] = 60.0) -> None:
    """analyse_video at 5 fps with audio and ASR on a 720p 30 fps talking head (models imported first)."""
    import mediapipe  # noqa: F401  (the import, ~1 s, is a process's, not an analysis's)

    from bench.face_video import _make_clip
    from engine.video import analyse_video

    with tempfile.TemporaryDirectory() as tmp:
        clip = _make_clip(Path(tmp) / "clip.mp4", seconds, (1280, 720), 30)
        with _timed() as t:
            rep = analyse_video(clip, fps=5.0, asr=True)
    _emit({"seconds": seconds, "rtf_wall": t["wall_s"] / seconds, "rtf_cpu": t["cpu_s"] / seconds,
           "face_s": rep.modalities["timings"]["face_s"]})


@app.command()
def audio(minutes: Annotated[float, typer.Option()] = 1.0) -> None:
    """analyse_audio with ASR on tiled speech fixtures (bench.voice_rtf's input)."""
    from bench.voice_rtf import make_input
    from engine.voice import analyse_audio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        seconds = make_input(path, minutes)
        with _timed() as t:
            analyse_audio(path, asr=True)
    _emit({"seconds": seconds, "rtf_wall": t["wall_s"] / seconds, "rtf_cpu": t["cpu_s"] / seconds})


@app.command()
def text(
    sentences: Annotated[int, typer.Option()] = 1000, per_text: Annotated[int, typer.Option()] = 4
) -> None:
    """Text jobs' engine work: texts of ``per_text`` sentences through analyse, one at a time."""
    from bench.text_throughput import make_sentences
    from engine.text import get_analyser

    sents = make_sentences(sentences)
    texts = [" ".join(sents[i : i + per_text]) for i in range(0, len(sents), per_text)]
    analyser = get_analyser().load()
    for warm in texts[:8]:
        analyser.analyse(warm)
    with _timed() as t:
        for one in texts:
            analyser.analyse(one)
    _emit({"texts": len(texts), "per_core": len(texts) / t["cpu_s"], "per_s": len(texts) / t["wall_s"]})


@app.command()
def rss(seconds: Annotated[float, typer.Option()] = 60.0) -> None:
    """Peak RSS of analyse_video (5 fps, ASR off) on a 640×360 clip, in a fresh process."""
    from bench.face_video import peak_rss

    _emit({"seconds": seconds, **peak_rss(seconds)})


@app.command()
def streams(
    seconds: Annotated[float, typer.Option()] = 60.0,
    ramp: Annotated[float, typer.Option()] = 20.0,
    max_streams: Annotated[int, typer.Option()] = 5,
) -> None:
    """bench.stream_latency against ``echodepth serve`` (embedded): one stream, then 2…N at once."""
    from bench.stream_latency import measure

    _emit(measure(seconds, ramp, max_streams))


def _deployment(kind: str) -> Callable[[Path], AbstractContextManager[Any]]:
    from bench import servers

    starts = {"noop": servers.noop_baseline, "embedded": servers.embedded_api, "scaled": servers.redis_api}
    return starts[kind]


def _peak_rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next(int(ln.split()[1]) / 1024 for ln in status.splitlines() if ln.startswith("VmHWM:"))


@app.command()
def api(
    kind: Annotated[str, typer.Option(help="noop, embedded or scaled")],
    clients: Annotated[int, typer.Option()] = 50,
    warmup: Annotated[int, typer.Option()] = 100,
    requests: Annotated[int, typer.Option()] = 1000,
    profile: Annotated[str, typer.Option(help="py-spy raw output of a further, unmeasured load phase")] = "",
) -> None:
    """Submit latency at ``clients`` concurrent clients; the API process's peak RSS; optionally a profile."""
    from bench.__main__ import BODY
    from bench.flame import profiled
    from bench.load import Target, run_load

    with tempfile.TemporaryDirectory() as tmp, _deployment(kind)(Path(tmp) / "d") as dep:
        target = Target(dep.name, dep.url, {**dep.headers, "Content-Type": "application/json"}, BODY)
        res = run_load(target, clients, warmup, requests)
        peak = _peak_rss_mb(dep.pid)
        profiling = False
        if profile:
            with profiled(dep.pid, Path(profile)) as profiling:
                run_load(target, clients, 0, requests)
    _emit({"p50_ms": res.percentile_ms(0.5), "p99_ms": res.percentile_ms(0.99), "rps": res.requests_per_s,
           "requests": len(res.latencies_s), "errors": res.errors, "error_samples": res.error_samples,
           "api_peak_rss_mb": peak, "profiled": profiling})


def _finished(database_url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as c:
            done = c.exec_driver_sql("SELECT count(*) FROM jobs WHERE status IN ('completed', 'failed')")
            return int(done.scalar_one())
    finally:
        engine.dispose()


@app.command()
def scaleout(
    workers: Annotated[int, typer.Option()] = 1,
    jobs: Annotated[int, typer.Option()] = 2000,
    timeout: Annotated[float, typer.Option()] = 900.0,
) -> None:
    """Scaled mode with ``workers`` worker processes: ``jobs`` text jobs submitted by 50 clients, timed
    from the first submit until every one is completed."""
    from bench.__main__ import BODY
    from bench.load import Target, run_load
    from bench.servers import redis_api

    with tempfile.TemporaryDirectory() as tmp, redis_api(Path(tmp) / "d", workers) as dep:
        target = Target(dep.name, dep.url, {**dep.headers, "Content-Type": "application/json"}, BODY)
        t0 = time.perf_counter()
        res = run_load(target, 50, 0, jobs)
        submitted = time.perf_counter() - t0
        deadline = t0 + timeout
        while _finished(dep.database_url) < jobs and time.perf_counter() < deadline:
            time.sleep(0.5)
        took, done = time.perf_counter() - t0, _finished(dep.database_url)
    _emit({"workers": workers, "jobs": jobs, "done": done, "jobs_per_s": done / took,
           "submit_s": submitted, "submit_p99_ms": res.percentile_ms(0.99), "errors": res.errors})


if __name__ == "__main__":
    sys.exit(app())
