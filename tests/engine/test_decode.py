"""Decoding: every promised format to 16 kHz mono float32 in blocks; each kind of bad input to its code."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from engine.errors import MediaError
from engine.media import SAMPLE_RATE, decode_audio, iter_audio, probe

TONE_HZ = 440.0
SECONDS = 2.0


def _tone(rate: int) -> np.ndarray:
    t = np.arange(int(rate * SECONDS)) / rate
    return (0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)


def _encode(path: Path, fmt: str, codec: str, rate: int, video: bool = False) -> Path:
    """Write a 2 s 440 Hz tone with PyAV's own encoders (optionally beside a video stream)."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        vstream = None
        if video:
            vstream = out.add_stream("mpeg4", rate=10)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        frame = av.AudioFrame.from_ndarray(_tone(rate).reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        fmt_name = stream.codec_context.format.name if stream.codec_context.format else "fltp"
        for f in av.AudioResampler(format=fmt_name, layout="mono", rate=rate).resample(frame):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if vstream is not None:
            for _ in range(20):
                picture = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
                for packet in vstream.encode(picture):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
    return path


FORMATS = {
    "wav": ("wav", "pcm_s16le", 22050),
    "flac": ("flac", "flac", 44100),
    "mp3": ("mp3", "libmp3lame", 44100),
    "m4a": ("ipod", "aac", 44100),
    "opus": ("ogg", "libopus", 48000),
    "webm": ("webm", "libopus", 48000),
}


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_decodes_each_format_to_16k_mono_with_the_right_pitch(tmp_path: Path, ext: str) -> None:
    path = _encode(tmp_path / f"tone.{ext}", *FORMATS[ext])
    x = decode_audio(path)
    assert x.dtype == np.float32
    assert abs(x.size / SAMPLE_RATE - SECONDS) < 0.1
    spectrum = np.abs(np.fft.rfft(x[SAMPLE_RATE // 4 : SAMPLE_RATE // 4 + SAMPLE_RATE]))
    assert abs(np.argmax(spectrum) - TONE_HZ) <= 2  # 1 Hz bins over one second
    assert 0.2 < np.abs(x).max() < 0.6


def test_decodes_the_audio_track_of_a_video(tmp_path: Path) -> None:
    path = _encode(tmp_path / "clip.mp4", "mp4", "aac", 44100, video=True)
    assert probe(path).has_video
    assert abs(decode_audio(path).size / SAMPLE_RATE - SECONDS) < 0.1


def test_blocks_have_the_requested_size_and_join_to_the_whole(tmp_path: Path) -> None:
    path = _encode(tmp_path / "tone.flac", *FORMATS["flac"])
    blocks = list(iter_audio(path, block_seconds=0.5))
    assert [b.size for b in blocks[:-1]] == [SAMPLE_RATE // 2] * (len(blocks) - 1)
    np.testing.assert_array_equal(np.concatenate(blocks), decode_audio(path))


def test_probe_reports_duration_rate_and_channels(tmp_path: Path) -> None:
    info = probe(_encode(tmp_path / "tone.wav", *FORMATS["wav"]))
    assert info.duration == pytest.approx(SECONDS, abs=0.01)
    assert (info.sample_rate, info.channels) == (22050, 1)


def _code(path: Path, **kwargs: float) -> str:
    with pytest.raises(MediaError) as caught:
        decode_audio(path, **kwargs)
    return caught.value.code


def test_zero_length_file_is_media_empty(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    assert _code(tmp_path / "empty.wav") == "media_empty"


def test_text_file_is_media_not_audio(tmp_path: Path) -> None:
    (tmp_path / "notes.mp3").write_text("this is a shopping list, not a recording\n" * 40)
    assert _code(tmp_path / "notes.mp3") == "media_not_audio"


def test_image_without_audio_is_media_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "still.png"
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 8, 8, "rgb24"
        for packet in stream.encode(
            av.VideoFrame.from_ndarray(np.zeros((8, 8, 3), np.uint8), format="rgb24")
        ):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    assert _code(path) == "media_not_audio"


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3"])
def test_truncated_file_is_media_corrupt(tmp_path: Path, ext: str) -> None:
    data = _encode(tmp_path / f"tone.{ext}", *FORMATS[ext]).read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 3])
    assert _code(cut) == "media_corrupt"


@pytest.mark.parametrize(("ext", "keep"), [("wav", 12), ("flac", 200), ("m4a", 40)])
def test_garbled_file_is_media_corrupt(tmp_path: Path, ext: str, keep: int) -> None:
    data = bytearray(_encode(tmp_path / f"tone.{ext}", *FORMATS[ext]).read_bytes())
    noise = np.random.default_rng(7).integers(0, 256, len(data) - keep, dtype=np.uint8).tobytes()
    bad = tmp_path / f"bad.{ext}"
    bad.write_bytes(bytes(data[:keep]) + noise)
    assert _code(bad) == "media_corrupt"


def test_over_the_duration_cap_is_media_too_long(tmp_path: Path) -> None:
    path = _encode(tmp_path / "tone.wav", *FORMATS["wav"])
    assert _code(path, max_seconds=1.0) == "media_too_long"
    assert decode_audio(path, max_seconds=3.0).size > 0
