"""The echodepth command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ECHODEPTH_BIN


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHODEPTH_")}
    return {**env, "COLUMNS": "400", "ECHODEPTH_DATA_DIR": str(data_dir), **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_key_created_before_first_serve_is_accepted_by_the_server(tmp_path: Path) -> None:
    env = _env(tmp_path / "var")
    out = subprocess.run(
        [ECHODEPTH_BIN, "keys", "create", "--tenant", "local"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = out.stdout.strip()
    assert key.startswith("edk_") and "\n" not in key
    assert (tmp_path / "var" / "echodepth.db").exists()
    port = _free_port()
    server = subprocess.Popen(
        [ECHODEPTH_BIN, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {key}"}
        r = httpx.post(
            f"{base}/v1/analyse/text", json={"text": "What a wonderful day it was."}, headers=headers
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        body: dict[str, object] = {}
        while time.monotonic() < deadline + 60:
            body = httpx.get(f"{base}/v1/result/{job_id}", headers=headers).json()
            if body["status"] in ("completed", "failed"):
                break
            time.sleep(0.1)
        assert body["status"] == "completed"
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_analyse_prints_json_for_text(tmp_path: Path) -> None:
    out = subprocess.run(
        [ECHODEPTH_BIN, "analyse", "--text", "I love it. I hate waiting."],
        env=_env(tmp_path / "var"),
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["modality"] == "text" and len(report["segments"]) == 2
    assert report["segments"][0]["vad"]["valence"] > report["segments"][1]["vad"]["valence"]


def test_analyse_reads_a_file_and_summarises(tmp_path: Path) -> None:
    f = tmp_path / "call.txt"
    f.write_text("Thanks so much, this is exactly what we needed.", encoding="utf-8")
    out = subprocess.run(
        [ECHODEPTH_BIN, "analyse", str(f), "--summary"],
        env=_env(tmp_path / "var"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "valence" in out.stdout and "trust score" in out.stdout


def test_analyse_rejects_missing_and_binary_input(tmp_path: Path) -> None:
    env = _env(tmp_path / "var")
    missing = subprocess.run(
        [ECHODEPTH_BIN, "analyse", str(tmp_path / "nope.txt")], env=env, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "not a file" in missing.stderr
    blob = tmp_path / "x.txt"
    blob.write_bytes(b"\xff\xfe\x00bad")
    bad = subprocess.run([ECHODEPTH_BIN, "analyse", str(blob)], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "UTF-8" in bad.stderr


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    env = _env(tmp_path / "var")
    for _ in range(2):
        subprocess.run([ECHODEPTH_BIN, "db", "upgrade"], env=env, check=True, capture_output=True)


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize(
    ("fixture", "modality"),
    [("audio/speech_pauses_um.wav", "audio"), ("faces/london_030_smiling.jpg", "image")],
)
def test_analyse_handles_media_files(tmp_path: Path, fixture: str, modality: str) -> None:
    out = subprocess.run([ECHODEPTH_BIN, "analyse", str(FIXTURES / fixture)], env=_env(tmp_path / "var"),
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["modality"] == modality
    assert report["vad"] is not None


def test_analyse_refuses_a_private_url_by_default(tmp_path: Path) -> None:
    out = subprocess.run([ECHODEPTH_BIN, "analyse", "http://127.0.0.1:9/a.wav"], env=_env(tmp_path / "var"),
                         capture_output=True, text=True)
    assert out.returncode == 2 and "url_not_allowed" in out.stderr


def test_analyse_reports_corrupt_media_with_its_code(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 300)
    out = subprocess.run([ECHODEPTH_BIN, "analyse", str(bad)], env=_env(tmp_path / "var"),
                         capture_output=True, text=True)
    assert out.returncode == 2 and "media_corrupt" in out.stderr


def _steps(tmp_path: Path, provider: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ECHODEPTH_BIN, "connectors", "setup", provider, "--steps-only"],
        env=_env(tmp_path / "var"),
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("provider", ["zoom", "teams", "microsoft", "salesforce", "hubspot", "slack"])
def test_connectors_setup_prints_every_admin_step_and_the_scopes(tmp_path: Path, provider: str) -> None:
    from config import CONFIG_DIR
    from core.registry import load_provider_spec

    spec = load_provider_spec(provider, CONFIG_DIR / "providers")
    run = _steps(tmp_path, provider)
    assert run.returncode == 0, run.stderr
    if spec.oauth is not None and spec.oauth.scopes:
        assert " ".join(spec.oauth.scopes) in run.stdout
    for step in spec.admin_steps:
        assert step.title in run.stdout and step.source in run.stdout
        assert ("[paid API]" in run.stdout.split(step.title)[1].splitlines()[0]) is step.paid


def test_connectors_setup_refuses_an_unknown_or_path_like_provider(tmp_path: Path) -> None:
    for bad in ("nosuchvendor", "../config/providers/zoom"):
        run = _steps(tmp_path, bad)
        assert run.returncode == 2 and "unknown provider" in run.stderr
