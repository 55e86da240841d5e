"""py-spy attached to a running process, and its samples summarised as text (the top frames).

``py-spy record --format raw`` writes one collapsed stack a line (``frame;frame;… count``, outermost first).
The summary folds line numbers away and reports, per function, the share of samples in which it is the
innermost frame (self) and in which it is anywhere on the stack (inclusive): what a flame graph shows,
as a few lines that fit in ``docs/performance.md``.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Frame", "profiled", "py_spy", "summarise"]

RATE_HZ = 97  # not a multiple of common timer frequencies
_LINE = re.compile(r":\d+\)$")
OUR_CODE = re.compile(r"\((core|engine|connectors)/")  # the inclusive list: our functions, not the frameworks


@dataclass(frozen=True)
class Frame:
    """One function's share of the samples."""

    name: str
    self_share: float
    inclusive_share: float


def py_spy() -> str | None:
    """The py-spy executable beside this Python, or on PATH (``pip install py-spy``)."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def profiled(pid: int, out: Path) -> Iterator[bool]:
    """Sample process ``pid`` (and its subprocesses) while the block runs; yields whether py-spy runs.
    Samples are taken only from the thread that holds the GIL."""
    exe = py_spy()
    if exe is None:
        yield False
        return
    # --gil: only the thread holding the GIL, i.e. what keeps every other request of the process waiting
    cmd = [exe, "record", "--pid", str(pid), "--rate", str(RATE_HZ), "--subprocesses", "--gil", "--format",
           "raw", "--output", str(out), "--nonblocking"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield True
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _stacks(raw: Path) -> Iterator[tuple[list[str], int]]:
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():  # py-spy's "process <pid>: <cmdline>" root frame is left out
            frames = [_LINE.sub(")", f) for f in stack.split(";") if not f.startswith("process ")]
            if frames:
                yield frames, int(count)


def summarise(raw: Path, top: int = 12) -> tuple[int, list[Frame], list[Frame]]:
    """Samples, the ``top`` functions by self share and the ``top`` of our own (core, engine, connectors)
    by inclusive share."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for frames, count in _stacks(raw):
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            anywhere[name] += count
    if not total:
        return 0, [], []

    def ranked(names: list[str]) -> list[Frame]:
        return [Frame(n, own[n] / total, anywhere[n] / total) for n in names[:top]]

    ours = [n for n, _ in anywhere.most_common() if n.endswith(")") and OUR_CODE.search(n)]
    return total, ranked([n for n, _ in own.most_common()]), ranked(ours)


def as_text(title: str, raw: Path, top: int = 12) -> str:
    """The summary as a fixed-width text block."""
    total, by_self, by_inclusive = summarise(raw, top)
    if not total:
        return f"{title}: no samples"
    lines = [f"{title}: {total} samples at {RATE_HZ} Hz", "  self  incl  function (file)"]
    lines += [f"{f.self_share:6.1%} {f.inclusive_share:5.0%}  {f.name[:100]}" for f in by_self]
    lines += ["  -- core/engine/connectors functions by inclusive share --"]
    lines += [f"{f.self_share:6.1%} {f.inclusive_share:5.0%}  {f.name[:100]}" for f in by_inclusive]
    return "\n".join(lines)
