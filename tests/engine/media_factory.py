"""Build small test media in test setup: talking-head MP4s from a face photo plus a WAV (or a tone)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FACES = FIXTURES / "faces"
SPEECH_WAV = FIXTURES / "audio" / "speech_pauses_um.wav"


def _canvas(photo: Path, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    face = Image.open(photo).convert("RGB")
    face.thumbnail((int(h * 0.9), int(h * 0.9)))
    canvas = Image.new("RGB", size, (90, 100, 110))
    canvas.paste(face, ((w - face.width) // 2, (h - face.height) // 2))
    return np.asarray(canvas)


def _audio_blocks(seconds: float, wav: Path | None, rate: int = 16_000, loop: bool = False) -> np.ndarray:
    if wav is not None and wav.is_file():
        with av.open(str(wav)) as c:
            res = av.AudioResampler(format="s16", layout="mono", rate=rate)
            pcm = np.concatenate(
                [f.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for f in res.resample(fr)]
            )
    else:  # a synthetic "voice": a 160 Hz tone with syllable-like amplitude bursts
        t = np.arange(int(seconds * rate)) / rate
        env = (np.sin(2 * np.pi * 3 * t) > 0).astype(float)
        pcm = (0.3 * env * np.sin(2 * np.pi * 160 * t) * 32767).astype(np.int16)
    n = int(seconds * rate)
    if loop and 0 < pcm.size < n:  # the recording again and again: speech all through a long clip
        pcm = np.tile(pcm, -(-n // pcm.size))
    pcm = np.pad(pcm, (0, max(0, n - pcm.size)))[:n]
    return pcm.astype(np.int16)


def talking_head(
    out: Path,
    *,
    seconds: float = 4.0,
    size: tuple[int, int] = (640, 360),
    fps: int = 25,
    photos: tuple[Path, ...] = (FACES / "london_008_neutral.jpg", FACES / "london_008_smiling.jpg"),
    wav: Path | None = SPEECH_WAV,
    audio: bool = True,
    switch_s: float = 1.0,
    loop_audio: bool = False,
) -> Path:
    """Write an H.264/AAC MP4 cycling through ``photos`` every ``switch_s`` seconds, with speech or a tone.

    The WAV plays once and silence follows, unless ``loop_audio`` repeats it to the clip's end.
    """
    frames = [_canvas(p, size) for p in photos]
    with av.open(str(out), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "28"}
        a_s = c.add_stream("aac", rate=16_000) if audio else None
        if a_s is not None:
            a_s.layout = "mono"
        for i in range(int(seconds * fps)):
            img = frames[int(i / fps / switch_s) % len(frames)]
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in vs.encode(None):
            c.mux(pkt)
        if a_s is not None:
            pcm = _audio_blocks(seconds, wav, loop=loop_audio)
            for k in range(0, pcm.size, 1024):
                fr = av.AudioFrame.from_ndarray(pcm[None, k : k + 1024], format="s16", layout="mono")
                fr.sample_rate = 16_000
                for pkt in a_s.encode(fr):
                    c.mux(pkt)
            for pkt in a_s.encode(None):
                c.mux(pkt)
    return out


def _speech_pool(wav: Path, rate: int = 16_000) -> np.ndarray:
    """The speech stretches of the fixture WAV (times from its JSON), joined: continuous voiced audio."""
    import json

    pcm = _audio_blocks(60.0, wav, rate)
    spans = json.loads(wav.with_suffix(".json").read_text())["segments"]
    return np.concatenate(
        [pcm[int(s["start"] * rate) : int(s["end"] * rate)] for s in spans if s["kind"] == "speech"]
    )


def _mouth(closed: np.ndarray, opened: np.ndarray, step: int, moving: bool) -> np.ndarray:
    """The open-mouth image on odd 0.2 s steps while ``moving``, else the closed one."""
    return opened if moving and step % 2 else closed


def gallery(
    out: Path,
    *,
    talking: str = "1100110011",
    size: tuple[int, int] = (640, 360),
    fps: int = 25,
    audio: bool = True,
    speaker: tuple[Path, Path] = (FACES / "london_030_neutral.jpg", FACES / "london_030_smiling.jpg"),
    other: tuple[Path, Path] = (FACES / "london_008_neutral.jpg", FACES / "london_008_smiling.jpg"),
) -> Path:
    """A two-tile gallery view: a small face (right) whose mouth moves in the seconds marked "1" in
    ``talking``, exactly when the audio has speech, and a larger face (left) whose mouth moves only in the
    silent seconds. Mouth "open" is the second photo of each pair (030 smiling: jawOpen ≈ 0.05 vs 0.001)."""
    w, h = size
    big, small = int(h * 0.85), int(h * 0.5)

    def tile(photo: Path, side: int) -> np.ndarray:
        img = Image.open(photo).convert("RGB")
        img.thumbnail((side, side))
        return np.asarray(img)

    spk = [tile(p, small) for p in speaker]
    oth = [tile(p, big) for p in other]
    seconds = len(talking)
    with av.open(str(out), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "23"}
        a_s = c.add_stream("aac", rate=16_000) if audio else None
        if a_s is not None:
            a_s.layout = "mono"
        for i in range(seconds * fps):
            on, step = talking[i // fps] == "1", i * 5 // fps
            canvas = np.full((h, w, 3), (90, 100, 110), dtype=np.uint8)
            left, right = _mouth(*oth, step, not on), _mouth(*spk, step, on)
            y0, x0 = (h - left.shape[0]) // 2, w // 4 - left.shape[1] // 2
            canvas[y0 : y0 + left.shape[0], x0 : x0 + left.shape[1]] = left
            y0, x0 = (h - right.shape[0]) // 2, 3 * w // 4 - right.shape[1] // 2
            canvas[y0 : y0 + right.shape[0], x0 : x0 + right.shape[1]] = right
            for pkt in vs.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                c.mux(pkt)
        for pkt in vs.encode(None):
            c.mux(pkt)
        if a_s is not None:
            _mux_audio(c, a_s, _talking_audio(talking))
    return out


def _talking_audio(talking: str, rate: int = 16_000) -> np.ndarray:
    """Speech from the fixture WAV in the seconds marked "1", digital silence in the others."""
    pool = _speech_pool(SPEECH_WAV, rate)
    pcm = np.zeros(len(talking) * rate, dtype=np.int16)
    used = 0
    for i, mark in enumerate(talking):
        if mark == "1":
            pcm[i * rate : (i + 1) * rate] = pool[used : used + rate]
            used += rate
    return pcm


def _mux_audio(c: av.container.OutputContainer, a_s: av.audio.stream.AudioStream, pcm: np.ndarray) -> None:
    for k in range(0, pcm.size, 1024):
        fr = av.AudioFrame.from_ndarray(pcm[None, k : k + 1024], format="s16", layout="mono")
        fr.sample_rate = 16_000
        for pkt in a_s.encode(fr):
            c.mux(pkt)
    for pkt in a_s.encode(None):
        c.mux(pkt)
