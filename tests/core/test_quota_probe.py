"""The media-minutes probe runs in the API process on every audio/video upload: a PNG claiming 14 000 × 14 000
pixels sent as video must not be decoded by it (FFmpeg's image demuxer decoded ~600 MB while probing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.chaos.corpus import big_png

# peak RSS of this process's own address space: VmHWM starts afresh at exec, while ru_maxrss keeps the
# parent's peak across fork + exec (a pytest process that loaded the models would set it)
_PEAK_RSS = """
import re, sys
def peak_mb():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) // 1024
from pathlib import Path
from core.jobs.quota import media_seconds
print(media_seconds(Path(sys.argv[1])), peak_mb())
"""


def test_the_upload_probe_never_decodes_a_14000_square_png(tmp_path: Path) -> None:
    path = tmp_path / "frame.png"
    path.write_bytes(big_png(14_000, 14_000, rows=16))
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(path)], capture_output=True, text=True, check=True
    )
    seconds, peak_mb = out.stdout.split()
    assert float(seconds) == 0.0  # an image declares no duration: nothing charged
    assert int(peak_mb) < 350, out.stdout  # the import of core alone is ~150 MB
