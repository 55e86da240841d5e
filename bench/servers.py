"""The deployments under test, each a context manager that always stops its processes and drops its data."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import redis
import sqlalchemy as sa

__all__ = ["BENCH_TEXT", "HOST", "Deployment", "embedded_api", "noop_baseline", "redis_api"]

HOST = "127.0.0.1"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ECHODEPTH_BIN = str(Path(sys.executable).with_name("echodepth"))
LOG_LEVEL = "warning"  # every server logs at the same level, so access logging costs all of them alike
BENCH_TEXT = "I am really pleased with how the demo went."
DUMMY_KEY = "edk_" + "0" * 40
# the tree under test (bench.trees sets it for a baseline commit): servers start there and read its config/
ROOT = Path(os.environ.get("BENCH_TREE_ROOT") or Path(__file__).resolve().parent.parent)
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Deployment:
    """A running server: where to post, and the auth headers it needs."""

    name: str
    url: str
    headers: dict[str, str]
    pid: int = 0  # the API process (profiled and measured by bench.probes)
    database_url: str = ""  # scaled deployments: where a probe counts finished jobs


def free_port() -> int:
    """A port the OS reports free (bind to port 0, then release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def bench_tiers() -> Path:
    """A rate-tiers file with one tier, ``bench``, that limits nothing: a bench measures the server at
    load, which the shipped tiers (10 concurrent jobs for ``standard``, the default) would answer with 429s.
    Written in a form every tree under test reads (bench.trees: a default tier that names a tier)."""
    path = Path(tempfile.gettempdir()) / f"echodepth-bench-tiers-{os.getpid()}.yaml"
    if not path.exists():
        spec = {"requests_per_minute": None, "concurrent_jobs": None, "media_minutes_per_day": None,
                "concurrent_streams": None}
        path.write_text(json.dumps({"tiers": {"bench": spec}}))  # JSON is YAML
    return path


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any ECHODEPTH_* variable, plus ``settings`` as ECHODEPTH_*, on
    the unlimited ``bench`` rate tier (:func:`bench_tiers`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHODEPTH_")}
    tiers = {"rate_tiers_file": str(bench_tiers()), "default_rate_tier": "bench"}
    env.update({f"ECHODEPTH_{k.upper()}": v for k, v in {**tiers, **settings}.items()})
    return env


def _tail(log: Path, lines: int = 20) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def process(
    cmd: list[str], env: dict[str, str], log: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` (yielded) until the block ends; wait until ``ready()`` first. Output goes to ``log``."""
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready():
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited early ({proc.returncode}):\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(cmd)} not ready in {START_TIMEOUT_S:.0f}s:\n{_tail(log)}")
            time.sleep(0.1)
        yield proc
    finally:
        _stop(proc)


def http_ok(url: str) -> Callable[[], bool]:
    """A readiness check: ``GET url`` answers 200."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=2, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def log_says(log: Path, marker: bytes) -> Callable[[], bool]:
    """A readiness check: ``marker`` has appeared in ``log``."""
    return lambda: log.exists() and marker in log.read_bytes()


def create_key(env: dict[str, str]) -> str:
    """``echodepth keys create --tenant bench`` in this environment; the new key."""
    done = subprocess.run([ECHODEPTH_BIN, "keys", "create", "--tenant", "bench"], env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"keys create failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def _echodepth_api(name: str, env: dict[str, str], workdir: Path) -> Iterator[Deployment]:
    key = create_key(env)
    port = free_port()
    base = f"http://{HOST}:{port}"
    cmd = [ECHODEPTH_BIN, "serve", "--host", HOST, "--port", str(port)]
    with process(cmd, env, workdir / "serve.log", http_ok(f"{base}/readyz")) as proc:
        yield Deployment(name, f"{base}/v1/analyse/text", {"Authorization": f"Bearer {key}"}, proc.pid)


@contextmanager
def embedded_api(workdir: Path) -> Iterator[Deployment]:
    """``echodepth serve`` on SQLite in a temporary data dir, with its in-process worker."""
    workdir.mkdir(parents=True)
    env = clean_env(data_dir=str(workdir / "var"), log_level=LOG_LEVEL)
    with _echodepth_api("API embedded (SQLite)", env, workdir) as deployment:
        yield deployment


@contextmanager
def temp_pg_database() -> Iterator[str]:
    """A new PostgreSQL database, dropped (WITH FORCE) when the block ends."""
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    name = f"echodepth_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield f"{PG_SERVER}/{name}"
        finally:
            with admin.connect() as c:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def redis_namespace() -> Iterator[str]:
    """A unique Redis key prefix; its keys are deleted when the block ends."""
    ns = f"echodepth-bench-{uuid.uuid4().hex[:12]}"
    try:
        yield ns
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            for key in client.scan_iter(f"{ns}*"):
                client.delete(key)
        finally:
            client.close()


@contextmanager
def redis_api(workdir: Path, workers: int = 1) -> Iterator[Deployment]:
    """``echodepth serve`` plus ``workers`` × ``echodepth worker`` on a temporary PostgreSQL database and
    Redis; the deployment's ``database_url`` lets a probe count finished jobs."""
    workdir.mkdir(parents=True)
    with temp_pg_database() as db_url, redis_namespace() as ns, ExitStack() as stack:
        env = clean_env(data_dir=str(workdir / "var"), database_url=db_url, broker_url=REDIS_URL,
                        broker_namespace=ns, log_level=LOG_LEVEL)
        for i in range(workers):
            log = workdir / f"worker{i}.log"
            stack.enter_context(process([ECHODEPTH_BIN, "worker"], env, log, log_says(log, b"worker ready")))
        deployment = stack.enter_context(_echodepth_api("API Redis + PostgreSQL", env, workdir))
        yield replace(deployment, database_url=db_url)


@contextmanager
def noop_baseline(workdir: Path) -> Iterator[Deployment]:
    """The do-nothing FastAPI app (``bench.noop_app``) under uvicorn, one process, same host."""
    workdir.mkdir(parents=True)
    port = free_port()
    base = f"http://{HOST}:{port}"
    cmd = [sys.executable, "-m", "uvicorn", "bench.noop_app:app", "--host", HOST, "--port", str(port),
           "--log-level", LOG_LEVEL]
    with process(cmd, clean_env(), workdir / "noop.log", http_ok(f"{base}/healthz")) as proc:
        # A key-shaped header, so the baseline receives requests of the same size as the API.
        headers = {"Authorization": f"Bearer {DUMMY_KEY}"}
        yield Deployment("baseline no-op FastAPI", f"{base}/noop", headers, proc.pid)
