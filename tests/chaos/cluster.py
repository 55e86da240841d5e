"""A scaled deployment for the chaos suite, all of it in separate processes the suite may kill.

Own ``redis-server`` and PostgreSQL cluster (tests/chaos/services.py), two ``echodepth worker`` processes
(with the kill points of tests/chaos/faults.py) and two ``echodepth serve`` processes on spare ports, sharing
one data directory (the spool) as a scaled deployment on one machine does. Webhooks go to a receiver in the
test process (tests/emulators/webhook_receiver.py), which counts what arrived and what it accepted.
"""

from __future__ import annotations

import base64
import itertools
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psycopg

from tests.chaos.services import PostgresCluster, RedisServer, die_with_parent, free_port, wait_until
from tests.emulators.oauth import OAuthEmulator
from tests.emulators.webhook_receiver import WebhookReceiver

if TYPE_CHECKING:
    from core.runtime import Runtime

__all__ = ["Cluster", "Proc", "CHAOS_SETTINGS", "sink_settings"]

ROOT = Path(__file__).resolve().parents[2]
ECHODEPTH_BIN = str(Path(sys.executable).with_name("echodepth"))
CHAOS_SETTINGS: dict[str, str] = {
    "JOB_LEASE_SECONDS": "3",
    "REQUEUE_AFTER_SECONDS": "2",
    "SWEEP_INTERVAL_SECONDS": "0.5",
    "RETRY_MIN_BACKOFF_MS": "100",
    "RETRY_MAX_BACKOFF_MS": "1000",
    "JOB_MAX_RETRIES": "5",
    "WEBHOOK_RETRY_SCHEDULE": "0.3,0.5,1,1,2",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "ALLOW_PRIVATE_URLS": "true",
    "DEFAULT_RATE_TIER": "enterprise",  # a rate tier is configured: the limiter's Redis is in every request
    "LOG_LEVEL": "INFO",
    "WORKER_THREADS": "2",
}


@dataclass
class Proc:
    """One ``echodepth`` child process and its log."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[Proc], bool]
    url: str = ""  # an API's base URL
    proc: subprocess.Popen[bytes] | None = None
    deaths: int = 0
    log_start: int = 0  # where this run's output begins in the log

    def start(self, timeout: float = 180) -> None:
        """Start it and wait until ``ready()``."""
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        """Start the process; do not wait."""
        with self.log.open("ab") as fh:
            self.log_start = fh.tell()
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                preexec_fn=die_with_parent,
            )

    def output(self) -> bytes:
        """What this run of the process has logged so far."""
        with self.log.open("rb") as f:
            f.seek(self.log_start)
            return f.read()

    def wait_ready(self, timeout: float = 180) -> None:
        """Wait until ``ready()`` (RuntimeError with the log's tail if it exits or never gets there)."""
        assert self.proc is not None
        started = time.monotonic()
        while not self.ready(self):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log.read_text()[-4000:]}")
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up at all."""
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(timeout=20)
            self.deaths += 1

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 30 s."""
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def peak_rss_mb(self) -> float:
        """The process's peak resident set (VmHWM) in MB; 0 once it has exited."""
        if not self.alive():
            return 0.0
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0


def sink_settings(workdir: Path, hubspot: OAuthEmulator) -> dict[str, str]:
    """The CRM sink's part of the deployment: HubSpot pointed at its emulator, small batches."""
    from tests.emulators import crm

    providers = crm.providers_dir(workdir / "providers", [hubspot])
    return {
        "PROVIDERS_DIR": str(providers),
        "HUBSPOT_CLIENT_ID": hubspot.client_id,
        "HUBSPOT_CLIENT_SECRET": hubspot.client_secret,
        "SINK_BATCH_MAX": "5",  # several batches per scenario: a token can be revoked between them
        "SINK_BATCH_LINGER_SECONDS": "0.2",
        "SINK_BATCH_LEASE_SECONDS": "15",
    }


def _vault_keys() -> str:
    return "chaos1:" + base64.b64encode(os.urandom(32)).decode()


@dataclass
class Cluster:
    """The deployment: stores, two workers, two APIs; ``client()`` spreads requests over both APIs."""

    workdir: Path
    extra: dict[str, str] = field(default_factory=dict)
    redis: RedisServer = field(init=False)
    pg: PostgresCluster = field(init=False)
    workers: list[Proc] = field(default_factory=list)
    apis: list[Proc] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.redis = RedisServer(self.workdir)
        self.pg = PostgresCluster()
        self.fault_dir = self.workdir / "faults"
        self.fault_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "var"
        self._next_api = itertools.cycle(range(2))

    # start and stop -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Stores first, then the schema, then the four processes."""
        self.redis.start()
        self.pg.init()
        self.pg.start()
        self.database_url = self.pg.create_database("echodepth_chaos")
        self.env = self._env()
        self._cli("db", "upgrade")
        self.workers = [self._worker(n) for n in (1, 2)]
        self.apis = [self._api(n) for n in (1, 2)]
        for proc in [*self.workers, *self.apis]:  # side by side: each takes seconds to import
            proc.spawn()
        for proc in [*self.workers, *self.apis]:
            proc.wait_ready()

    def close(self) -> None:
        """Stop every process, then the stores."""
        for proc in [*self.apis, *self.workers]:
            proc.stop()
        self.redis.stop()
        self.pg.remove()

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ECHODEPTH_")}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env["CHAOS_FAULT_DIR"] = str(self.fault_dir)
        env["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # the vendor emulators speak plain http on loopback
        settings = {
            **CHAOS_SETTINGS,
            "DATA_DIR": str(self.data_dir),
            "DATABASE_URL": self.database_url,
            "BROKER_URL": self.redis.url,
            "BROKER_NAMESPACE": "chaos",
            "VAULT_KEYS": _vault_keys(),
            **self.extra,
        }
        env.update({f"ECHODEPTH_{k}": v for k, v in settings.items()})
        return env

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [ECHODEPTH_BIN, *args], env=self.env, capture_output=True, timeout=180, cwd=ROOT, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"echodepth {' '.join(args)}: {done.stderr.decode(errors='replace')[-3000:]}")
        return done.stdout.decode().strip()

    def _worker(self, n: int) -> Proc:
        log = self.workdir / f"worker{n}.log"
        argv = [sys.executable, "-m", "tests.chaos.faults"]
        return Proc(f"worker{n}", argv, self.env, log, lambda p: b"worker ready" in p.output())

    def _api(self, n: int) -> Proc:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        argv = [ECHODEPTH_BIN, "serve", "--port", str(port)]
        return Proc(f"api{n}", argv, self.env, self.workdir / f"api{n}.log", lambda p: _answers(url), url)

    def restart_worker(self, worker: Proc, wait: bool = True) -> None:
        """Start a killed worker again (new process, same settings)."""
        worker.spawn()
        if wait:
            worker.wait_ready()

    # clients ------------------------------------------------------------------------------------------

    def api_url(self, n: int | None = None) -> str:
        """An API's base URL (both in turn when ``n`` is None)."""
        return self.apis[next(self._next_api) if n is None else n].url

    def new_key(self, tenant: str | None = None, tier: str | None = None) -> str:
        """A new API key of a new tenant (as ``echodepth keys create`` makes one, without its start-up)."""
        from core.storage.db import Database
        from core.storage.store import Store

        db = Database(self.database_url)
        try:
            return Store(db).create_key(tenant or f"chaos-{uuid.uuid4().hex[:8]}", rate_tier=tier)
        finally:
            db.dispose()

    def request(self, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
        """One request to the next API."""
        headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 30)
        return httpx.request(method, self.api_url() + path, headers=headers, **kwargs)

    def subscribe(self, key: str, receiver: WebhookReceiver, events: list[str]) -> str:
        """A webhook endpoint of the key's tenant pointing at ``receiver`` (which learns its secret)."""
        r = self.request("POST", "/v1/webhooks", key, json={"url": receiver.url, "events": events})
        assert r.status_code == 201, r.text
        receiver.secret = r.json()["secret"]
        endpoint_id: str = r.json()["id"]
        return endpoint_id

    def submit_text(self, key: str, text: str) -> str:
        """Queue a text analysis; returns the job id."""
        r = self.request("POST", "/v1/analyse/text", key, json={"text": text})
        assert r.status_code == 202, r.text
        job_id: str = r.json()["job_id"]
        return job_id

    @contextmanager
    def runtime(self) -> Iterator[Runtime]:
        """A Runtime in the test process on the deployment's stores and settings (for set-up only)."""
        from core.runtime import Runtime
        from core.settings import Settings

        saved = dict(os.environ)
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("ECHODEPTH_")})
        try:
            rt = Runtime(Settings())
        finally:
            os.environ.clear()
            os.environ.update(saved)
        try:
            yield rt
        finally:
            rt.close()

    # what the stores hold -----------------------------------------------------------------------------

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the deployment's database."""
        with psycopg.connect(self.pg.dsn("echodepth_chaos")) as c:
            return list(c.execute(query, params).fetchall())

    def job_states(self, job_ids: list[str]) -> dict[str, tuple[str, int]]:
        """Each job's (status, attempts)."""
        rows = self.sql("SELECT id, status, attempts FROM jobs WHERE id = ANY(%s)", job_ids)
        return {r[0]: (r[1], r[2]) for r in rows}

    def result_counts(self, job_ids: list[str]) -> dict[str, int]:
        rows = self.sql(
            "SELECT job_id, count(*) FROM results WHERE job_id = ANY(%s) GROUP BY job_id", job_ids
        )
        return {r[0]: r[1] for r in rows}

    def spool_files(self) -> list[Path]:
        spool = self.data_dir / "spool"
        return sorted(p for p in spool.rglob("*") if p.is_file()) if spool.exists() else []

    def ensure_stores(self) -> None:
        """Both stores up (a scenario that failed half-way may have left one down)."""
        if not self.redis.running():
            self.redis.start()
        if not self.pg.running():
            self.pg.start()

    def ensure_workers(self) -> None:
        """Both workers up and ready (a killed one is started again)."""
        for w in self.workers:
            if not w.alive():
                w.spawn()
        for w in self.workers:
            w.wait_ready()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_jobs_ended(cluster: Cluster, job_ids: list[str], timeout: float) -> float:
    """Seconds until every job is completed or failed."""

    def ended() -> bool:
        states = cluster.job_states(job_ids)
        return len(states) == len(job_ids) and all(s in ("completed", "failed") for s, _ in states.values())

    return wait_until(ended, timeout, f"{len(job_ids)} jobs to end", every=0.2)
