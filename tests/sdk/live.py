"""A real ``echodepth serve`` (embedded mode) in a child process, a static file server for URL inputs, and a
webhook receiver that records raw deliveries: what the SDK tests (Python here, Node via npm) talk to."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).with_name("echodepth")
RATE_LIMIT_PER_MINUTE = 300  # the real setting; per key, so only the key that burns its bucket sees 429


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    """The environment of the test server: its own data dir, private URLs allowed, quick retries."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHODEPTH_")}
    env.update(
        ECHODEPTH_DATA_DIR=str(data_dir),
        ECHODEPTH_HOST="127.0.0.1",
        ECHODEPTH_PORT=str(port),
        ECHODEPTH_ALLOW_PRIVATE_URLS="true",
        ECHODEPTH_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT_PER_MINUTE),
        ECHODEPTH_WEBHOOK_RETRY_SCHEDULE="1,2,5",
        ECHODEPTH_RETRY_MIN_BACKOFF_MS="50",
        ECHODEPTH_RETRY_MAX_BACKOFF_MS="200",
        ECHODEPTH_VIDEO_FPS="2",
        ECHODEPTH_LOG_LEVEL="WARNING",
    )
    return env


@dataclass
class LiveServer:
    """A running ``echodepth serve``."""

    proc: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    log: Path

    def create_key(self, tenant: str) -> str:
        out = subprocess.run(
            [str(BIN), "keys", "create", "--tenant", tenant], env=self.env, check=True, capture_output=True
        )
        return out.stdout.decode().strip().splitlines()[-1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_server(data_dir: Path) -> LiveServer:
    port = free_port()
    env = server_env(data_dir, port)
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(BIN), "db", "upgrade"], env=env, check=True, capture_output=True)
    log = data_dir / "server.log"
    proc = subprocess.Popen([str(BIN), "serve"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"echodepth serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return LiveServer(proc, base, env, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"echodepth serve did not come up:\n{log.read_text()}")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve_directory(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    """A static file server for URL inputs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@dataclass
class Delivery:
    """One webhook request exactly as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver that answers 200 and keeps every raw request."""

    server: ThreadingHTTPServer
    url: str
    received: list[Delivery] = field(default_factory=list)

    def wait_for(self, predicate: Any, timeout: float = 60) -> Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for d in list(self.received):
                if predicate(d):
                    return d
            time.sleep(0.1)
        raise AssertionError(f"no matching webhook delivery in {timeout}s; got {len(self.received)}")


def start_receiver() -> Receiver:
    received: list[Delivery] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            received.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Receiver(server, f"http://127.0.0.1:{server.server_address[1]}", received)
