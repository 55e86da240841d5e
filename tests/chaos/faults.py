"""Kill points inside a worker process, armed from outside by a file.

A chaos worker runs ``python -m tests.chaos.faults`` instead of ``echodepth worker``: the same command, with
a few methods wrapped first. When the file ``$CHAOS_FAULT_DIR/<point>`` exists as a wrapped call starts (or
ends), the first process to remove it SIGKILLs itself there: one death, at an exact place, on whichever
worker got there first. Nothing else changes in the worker.

Points (module, attribute, when):
- ``analysis``: the job is claimed and its media spooled; the engine is about to run.
- ``delivered``: the receiver answered 2xx; the delivery is not yet recorded as delivered.
- ``delivered_all``: the same for a batch sink (Salesforce, HubSpot).
- ``fan_out_start``: the job has ended (its event is in the outbox); no delivery exists yet.
- ``fan_out``: the job has ended and its deliveries are committed; their messages are not yet sent.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["POINTS", "arm", "fired", "install"]

log = logging.getLogger("echodepth.chaos")
POINTS: dict[str, tuple[str, str, str]] = {
    "analysis": ("core.jobs.analysis", "analyse_inputs", "before"),
    "delivered": ("core.delivery.store", "DeliveryStore.delivered", "before"),
    "delivered_all": ("core.delivery.store", "DeliveryStore.delivered_all", "before"),
    "fan_out_start": ("core.delivery.store", "DeliveryStore.fan_out", "before"),
    "fan_out": ("core.delivery.store", "DeliveryStore.fan_out", "after"),
}


def arm(fault_dir: Path, point: str) -> None:
    """Make the next worker that reaches ``point`` die there."""
    assert point in POINTS, point
    (fault_dir / point).write_text("armed")


def fired(fault_dir: Path, point: str) -> bool:
    """True once a worker has died at ``point`` (the file is gone and the death recorded)."""
    return (fault_dir / f"{point}.fired").exists()


def _maybe_die(fault_dir: Path, point: str) -> None:
    try:
        (fault_dir / point).unlink()
    except FileNotFoundError:
        return
    (fault_dir / f"{point}.fired").write_text(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)


def _wrapped(real: Callable[..., Any], fault_dir: Path, point: str, when: str) -> Callable[..., Any]:
    @functools.wraps(real)
    def call(*args: Any, **kwargs: Any) -> Any:
        if when == "before":
            _maybe_die(fault_dir, point)
        result = real(*args, **kwargs)
        if when == "after":
            _maybe_die(fault_dir, point)
        return result

    return call


def install(fault_dir: Path) -> list[str]:
    """Wrap every point that exists in this code base; returns the ones that could not be found."""
    missing = []
    for point, (module_name, attr, when) in POINTS.items():
        owner: Any = importlib.import_module(module_name)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        real = getattr(owner, name, None) if owner is not None else None
        if real is None:
            missing.append(point)
            continue
        setattr(owner, name, _wrapped(real, fault_dir, point, when))
    return missing


def main() -> None:
    """``echodepth worker`` with the kill points installed."""
    missing = install(Path(os.environ["CHAOS_FAULT_DIR"]))
    if missing:
        sys.stderr.write(f"chaos: kill points not found in this code base: {', '.join(missing)}\n")
    from core.cli import app

    app(args=["worker", *sys.argv[1:]], prog_name="echodepth")


if __name__ == "__main__":
    main()
