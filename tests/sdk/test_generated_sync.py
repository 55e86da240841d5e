"""The SDK's blocking half is what the generator makes of its asyncio half (``make sdk-sync``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.sdk.live import ROOT

SCRIPT = ROOT / "sdk" / "python" / "scripts" / "generate_sync.py"
PACKAGE = ROOT / "sdk" / "python" / "src" / "echodepth"


def _check(package: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(SCRIPT), "--check", "--package", str(package)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_the_checked_in_sync_half_is_what_the_generator_gives() -> None:
    out = _check(PACKAGE)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_check_names_a_hand_edited_and_a_stale_sync_file(tmp_path: Path) -> None:
    package = tmp_path / "echodepth"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    edited = package / "_sync" / "session.py"
    edited.write_text(edited.read_text().replace("attempt += 1", "attempt += 2"))
    (package / "_sync" / "gone.py").write_text('"""Its source was deleted."""\n')
    out = _check(package)
    assert out.returncode == 1
    assert "_sync/session.py" in out.stderr and "_sync/gone.py" in out.stderr
    assert "_sync/client.py" not in out.stderr


def test_regenerating_restores_the_sync_half(tmp_path: Path) -> None:
    package = tmp_path / "echodepth"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "_sync" / "stream.py").unlink()
    cmd = [sys.executable, str(SCRIPT), "--package", str(package)]
    wrote = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    assert wrote.split() == ["wrote", "_sync/stream.py"]
    assert _check(package).returncode == 0
