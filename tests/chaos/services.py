"""The chaos suite's own stores: a ``redis-server`` and a PostgreSQL cluster on spare ports, data in a temp
folder, that a scenario may stop, kill and start again. The machine's shared services (5432, 6379) are
never touched.

PostgreSQL refuses to run as root; when the suite runs as root the cluster belongs to the ``postgres`` user
(``runuser``), which owns its folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

__all__ = ["free_port", "RedisServer", "PostgresCluster", "wait_until", "die_with_parent"]

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child before exec: SIGKILL it when the test process dies (Linux), so no process outlives a run."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: object, timeout: float, what: str, every: float = 0.05) -> float:
    """Poll ``check()`` until it is truthy; returns the seconds it took (AssertionError on timeout)."""
    assert callable(check)
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception:  # noqa: BLE001 - a store still coming up answers with errors; keep polling
            pass
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class RedisServer:
    """``redis-server`` without persistence (``--save ''``) on a spare port."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            wait_until(client.ping, 20, f"redis on port {self.port}")
        finally:
            client.close()

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (or SIGKILL) the server; its data is gone (no persistence)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.kill() if kill else self.proc.terminate()
        self.proc.wait(timeout=20)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if found:
        return Path(found[-1])
    on_path = shutil.which("pg_ctl")
    if on_path is None:
        raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin or on PATH")
    return Path(on_path).parent


class PostgresCluster:
    """``initdb`` + ``pg_ctl`` on a spare port; trust auth on 127.0.0.1; fsync off (a test cluster)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="echodepth-chaos-pg-"))  # its own: postgres must reach it
        self.data = self.root / "data"
        self.port = free_port()
        self.bin = _pg_bin()
        self.as_root = os.geteuid() == 0

    def _run(self, *argv: str) -> None:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.decode(errors='replace')[-2000:]}")

    def init(self) -> None:
        """Create the cluster's data folder."""
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        opts += " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "pg.log"), "-o", opts, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` (disconnect clients, clean) or ``immediate`` (as if the power went)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        """A new database; returns its SQLAlchemy URL."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database} connect_timeout=2"

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
