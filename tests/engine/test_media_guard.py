"""Untrusted media opened safely: pixel cap before decode, no server path in an error, unknown codecs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import MediaError
from engine.media import iter_audio, probe
from engine.media.guard import MAX_FRAME_PIXELS, open_capped, reason
from engine.video.frames import open_video
from tests.chaos.corpus import big_png, small_video, write

# peak RSS of this process's own address space: VmHWM starts afresh at exec, while ru_maxrss keeps the
# parent's peak across fork + exec (a pytest process that loaded the models would set it)
_PEAK_RSS = """
import re, sys
def peak_mb():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) // 1024
from pathlib import Path
from engine.errors import MediaError
from engine.video.frames import open_video
try:
    open_video(Path(sys.argv[1]), 14400)
except MediaError as exc:
    print(exc.code, peak_mb())
"""


def test_a_14000_square_png_sent_as_video_is_refused_before_any_pixel_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "frame.png"
    path.write_bytes(big_png(14_000, 14_000, rows=16))
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(path)], capture_output=True, text=True, check=True
    )
    code, peak_mb = out.stdout.split()
    assert code == "image_too_large"
    assert int(peak_mb) < 250  # decoding it costs ~600 MB


@pytest.mark.parametrize(("w", "h"), [(9_000, 9_000), (60_000, 60_000)])
def test_a_still_image_over_the_cap_is_image_too_large_as_video(tmp_path: Path, w: int, h: int) -> None:
    assert w * h > MAX_FRAME_PIXELS
    path = tmp_path / "big.png"
    path.write_bytes(big_png(w, h, rows=2))
    with pytest.raises(MediaError) as caught:
        open_video(path, 14400)
    assert caught.value.code == "image_too_large"


def test_every_video_stream_is_opened_with_the_decoders_pixel_cap(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(small_video("mp4", seconds=0.5))
    with open_capped(path) as c:
        assert c.streams.video[0].codec_context.options["max_pixels"] == str(MAX_FRAME_PIXELS)
    assert open_video(path, 14400).width == 160  # a normal clip is untouched


@pytest.mark.parametrize("name", ["text_named_mp4", "zip_named_mov", "corrupt_mp4"])
def test_a_video_error_never_names_the_servers_path(tmp_path: Path, name: str) -> None:
    path = write(name, tmp_path)
    with pytest.raises(MediaError) as caught:
        open_video(path, 14400)
    assert caught.value.code in ("media_corrupt", "media_no_video")
    assert str(tmp_path) not in caught.value.message and path.name not in caught.value.message


def test_an_audio_error_never_names_the_servers_path(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("RIFF but not really a wave file at all " * 50)
    with pytest.raises(MediaError) as caught:
        probe(path)
    assert str(tmp_path) not in caught.value.message


def test_a_wav_naming_an_unknown_codec_is_media_corrupt(tmp_path: Path) -> None:
    path = write("corrupt_wav", tmp_path)
    with pytest.raises(MediaError) as caught:
        probe(path)
    assert caught.value.code == "media_corrupt"
    with pytest.raises(MediaError):
        list(iter_audio(path))


def test_reason_drops_the_filename_of_os_errors(tmp_path: Path) -> None:
    missing = tmp_path / "spool" / "job" / "0"
    try:
        missing.open()
    except OSError as exc:
        assert str(tmp_path) not in reason(exc)
