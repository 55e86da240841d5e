"""The Node SDK's own suite (sdk/node, node:test) against a real server it starts, run from ``make test``:
``npm ci`` from the committed lock file, ``npm test``, and ``npm pack --dry-run``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.sdk.live import BIN, ROOT

NODE_DIR = ROOT / "sdk" / "node"


def _npm(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHODEPTH_")}
    env.update(ECHODEPTH_SERVER_BIN=str(BIN), ECHODEPTH_PYTHON=sys.executable)
    return subprocess.run(["npm", *args], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.timeout(1200)
def test_node_sdk_suite_and_package() -> None:
    if shutil.which("npm") is None:
        pytest.fail("npm (Node >= 20) is needed for the Node SDK tests")
    for step in (("ci", "--no-audit", "--no-fund"), ("test",), ("pack", "--dry-run")):
        out = _npm(*step)
        assert out.returncode == 0, (
            f"npm {' '.join(step)} failed:\n{out.stdout[-6000:]}\n{out.stderr[-3000:]}"
        )
        if step == ("test",):
            assert "# fail 0" in out.stdout, out.stdout[-6000:]
        if step[0] == "pack":
            listing = out.stdout + out.stderr
            assert "dist/index.js" in listing and "dist/index.d.ts" in listing, listing
