"""A full spool: an upload meets ``507 spool_full`` problem+json, a URL job fails with ``spool_full``, and
every process lives on; once there is room again jobs run as before.

The scenario mounts a 1 MB tmpfs over the deployment's spool (root only). Without root it cannot, and says
so in its row; the two in-process tests below inject ENOSPC at the spool writers instead (``/dev/full``).
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.media import outbound
from core.media.spool import SpoolFull
from tests.chaos.cluster import Cluster, wait_jobs_ended
from tests.chaos.corpus import small_wav
from tests.chaos.report import Row, record
from tests.conftest import Backend
from tests.emulators.server import serve

BIG = small_wav(60.0)  # ~1.9 MB: more than the 1 MB spool


@contextmanager
def _tiny_spool(spool: Path) -> Iterator[bool]:
    """A 1 MB tmpfs over ``spool`` for the block; yields False when it cannot be mounted."""
    spool.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(spool)], capture_output=True
    )
    try:
        yield mounted.returncode == 0
    finally:
        if mounted.returncode == 0:
            subprocess.run(["umount", "-l", str(spool)], check=True)


@contextmanager
def _file_server(body: bytes) -> Iterator[str]:
    async def media(request: Request) -> Response:
        return Response(body, media_type="audio/wav")

    with serve(Starlette(routes=[Route("/call.wav", media)])) as base:
        yield f"{base}/call.wav"


def _upload(cluster: Cluster, key: str, data: bytes) -> tuple[int, dict[str, object]]:
    r = cluster.request("POST", "/v1/analyse/audio", key, files={"file": ("call.wav", data, "audio/wav")})
    return r.status_code, r.json()


def test_a_full_spool_gives_507_and_failed_jobs_and_every_process_lives_on(deployment: Cluster) -> None:
    key = deployment.new_key()
    with _tiny_spool(deployment.data_dir / "spool") as mounted, _file_server(BIG) as url:
        if not mounted:
            record(
                Row("spool disk full", 0, 0, 0, 0, None, "no tmpfs (not root): ENOSPC injected in-process")
            )
            pytest.skip("cannot mount a tmpfs here; test_upload_into_a_full_spool_* injects ENOSPC instead")
        status, body = _upload(deployment, key, BIG)
        r = deployment.request("POST", "/v1/analyse/audio", key, json={"url": url})
        assert r.status_code == 202, r.text
        [job] = [str(r.json()["job_id"])]
        wait_jobs_ended(deployment, [job], timeout=120)
        error = deployment.request("GET", f"/v1/result/{job}", key).json().get("error") or {}
    alive = all(p.alive() for p in [*deployment.workers, *deployment.apis])
    after, _ = _upload(deployment, key, small_wav(2.0))
    note = f"upload {status} {body.get('code')}; URL job {error.get('code')}; alive {alive}; then {after}"
    record(Row("spool disk full (1 MB tmpfs)", 2, 0, 0, 0, None, note))
    assert status == 507 and body["code"] == "spool_full", body
    assert error.get("code") == "spool_full", error
    assert alive and after == 202


def test_upload_into_a_full_spool_is_507_spool_full(
    make_embedded: Callable[..., Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    b = make_embedded()
    monkeypatch.setattr(b.runtime.spool, "path_for", lambda job_id, index=0: Path("/dev/full"))  # ENOSPC
    files = {"file": ("call.wav", small_wav(2.0), "audio/wav")}
    r = b.client.post("/v1/analyse/audio", files=files, headers=b.headers())
    assert r.status_code == 507, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "spool_full"


def test_a_download_into_a_full_spool_is_spool_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "0.part"))

    monkeypatch.setattr(outbound, "_stream_body", full)
    with _file_server(b"RIFF" + b"\0" * 1000) as url, pytest.raises(SpoolFull) as caught:
        outbound.fetch_to_file(
            url, tmp_path / "0", max_bytes=10_000, timeout=5, total_seconds=10, allow_private=True
        )
    assert caught.value.status == 507 and str(tmp_path) not in caught.value.message
    assert not (tmp_path / "0.part").exists()
