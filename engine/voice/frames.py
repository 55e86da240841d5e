"""Per-frame acoustic tracks (10 ms grid), computed block by block so memory follows the frame count only.

For each block of decoded audio (with 0.2 s of left context): Praat's autocorrelation pitch (75–600 Hz) and
intensity via parselmouth, webrtcvad decisions, a 25 ms FFT for spectral balance (alpha ratio) and a small
mel-cepstrum (speaker turns, filled-pause stability), and jitter/shimmer from Praat's point process.

Tracks read only by frame range or under a mask (voicing strength and alpha ratio, in masked means; the
12-float mel-cepstrum of a live stream, per speaker chunk) stay in the blocks they were computed in
(``BlockTrack``), never concatenated into whole-clip arrays; the cepstral change (``flux``) is computed as
blocks arrive. A file's analysis keeps no cepstrum at all: its speaker chunks' mean cepstra come from a
second pass over the file (``chunk_cepstra``), which gives the same values.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import parselmouth
import webrtcvad
from parselmouth.praat import call

from engine.media import SAMPLE_RATE

__all__ = [
    "FRAME_S",
    "FrameExtractor",
    "FrameTrack",
    "BlockTrack",
    "extract_frames",
    "chunk_cepstra",
    "chunk_mean",
]

FRAME_S = 0.01
HOP = int(SAMPLE_RATE * FRAME_S)  # 160 samples
CONTEXT = int(0.2 * SAMPLE_RATE)  # left context carried into each block (Praat windows are ~40 ms)
# Praat refuses a Sound shorter than its analysis window ("shorter than window length"); a block that
# short (the last few ms of a file) is zero-padded to this length for the Praat analyses only.
MIN_PRAAT_SAMPLES = int(0.25 * SAMPLE_RATE)
PITCH_FLOOR, PITCH_CEILING = 75.0, 600.0  # Praat defaults widened for raised (aroused) voices
VAD_MODE = 2  # webrtcvad aggressiveness 0–3
VAD_FRAME = 480  # 30 ms at 16 kHz
WIN, NFFT = 400, 512  # 25 ms analysis window
N_MEL, N_CEP = 24, 12
CLIP_LEVEL = 0.995  # |sample| at or above this counts as clipped
SPECTRAL_BATCH = 512  # frames per FFT batch (5 s)


def _mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_filterbank() -> np.ndarray:
    freqs = np.fft.rfftfreq(NFFT, 1.0 / SAMPLE_RATE)
    edges = 700.0 * (
        10 ** (np.linspace(_mel(np.array(100.0)), _mel(np.array(7000.0)), N_MEL + 2) / 2595.0) - 1
    )
    bank = np.zeros((N_MEL, freqs.size), dtype=np.float32)
    for i in range(N_MEL):
        lo, mid, hi = edges[i : i + 3]
        bank[i] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0.0, None)
    return bank


_FREQS = np.fft.rfftfreq(NFFT, 1.0 / SAMPLE_RATE)
_LOW_BAND = (_FREQS >= 50) & (_FREQS < 1000)
_HIGH_BAND = (_FREQS >= 1000) & (_FREQS < 5000)
_MEL_BANK = _mel_filterbank()
_DCT = np.cos(np.pi / N_MEL * (np.arange(N_MEL) + 0.5)[None, :] * np.arange(1, N_CEP + 1)[:, None]).astype(
    np.float32
)
_WINDOW = np.hanning(WIN).astype(np.float32)


@dataclass
class _Blocks:
    """The storage a BlockTrack and its views share: sealed blocks of at least ``BLOCK_FRAMES`` frames (so a
    decoder's small packets do not each cost an array header) and the frames not yet sealed."""

    blocks: list[np.ndarray] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # first frame of each block
    pending: list[np.ndarray] = field(default_factory=list)
    sealed: int = 0  # frames in ``blocks``

    def seal(self) -> None:
        if self.pending:
            block = np.concatenate(self.pending)
            self.pending.clear()
            self.starts.append(self.sealed)
            self.blocks.append(block)
            self.sealed += int(block.shape[0])


class BlockTrack:
    """A float32 track of ``width`` values a frame, kept in blocks, read by range or under a mask.

    No whole-clip array is ever built (reads copy only the frames asked for), so the track costs its own
    bytes and nothing more. Views (``window``) share the owner's blocks; ``close`` frees them for all.
    """

    BLOCK_FRAMES = 4096  # 41 s of frames

    def __init__(self, width: int = 1, store: _Blocks | None = None, offset: int = 0, n: int = 0) -> None:
        self.width = width
        self._store = store if store is not None else _Blocks()
        self._offset = offset  # first frame of this view in the store
        self.n = n

    def append(self, values: np.ndarray) -> None:
        """Add the next frames' values (on the owning store, not on a view)."""
        if not values.shape[0]:
            return
        store = self._store
        store.pending.append(np.array(values, dtype=np.float32, copy=True))
        self.n += int(values.shape[0])
        if self.n - store.sealed >= self.BLOCK_FRAMES:
            store.seal()

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Values of frames ``start``…``stop - 1`` of this view (none once the store is closed)."""
        start, stop = max(0, start), min(stop, self.n)
        a, b = self._offset + start, self._offset + stop
        store = self._store
        if b > store.sealed:
            store.seal()
        parts = []
        if stop > start:
            for i in range(max(0, bisect.bisect_right(store.starts, a) - 1), len(store.blocks)):
                first = store.starts[i]
                if first >= b:
                    break
                block = store.blocks[i]
                parts.append(block[max(0, a - first) : min(block.shape[0], b - first)])
        if not parts:
            return np.zeros((0, self.width) if self.width > 1 else 0, dtype=np.float32)
        out = np.concatenate(parts)
        return out.reshape(-1, self.width) if self.width > 1 else out.reshape(-1)

    def masked(self, mask: np.ndarray) -> np.ndarray:
        """Values of the frames where ``mask`` (one flag per frame of this view) is set, in frame order."""
        if not mask.any():
            return self.rows(0, 0)
        a, b = int(mask.argmax()), mask.size - int(mask[::-1].argmax())
        return self.rows(a, b)[mask[a:b]]

    def window(self, start: int, stop: int) -> BlockTrack:
        """A view of frames ``start``…``stop - 1`` sharing this store's blocks."""
        start, stop = max(0, start), min(stop, self.n)
        return BlockTrack(self.width, self._store, self._offset + start, max(0, stop - start))

    def close(self) -> None:
        """Free the blocks now (for this store and its views)."""
        self._store.blocks.clear()
        self._store.starts.clear()
        self._store.pending.clear()


def _flux(cep: np.ndarray, prev: np.ndarray | None) -> np.ndarray:
    """Euclidean cepstral change from the previous frame (0 for a track's first frame)."""
    d = np.zeros(cep.shape[0], dtype=np.float32)
    if prev is not None and cep.shape[0]:
        d[0] = np.sqrt(((cep[0] - prev) ** 2).sum())
    if cep.shape[0] > 1:
        d[1:] = np.sqrt(((cep[1:] - cep[:-1]) ** 2).sum(1))
    return d


@dataclass
class FrameTrack:
    """Acoustic tracks on a 10 ms grid (frame k is centred on k·10 ms + 5 ms) plus whole-clip sums."""

    f0: np.ndarray  # Hz, NaN where unvoiced
    strength: BlockTrack  # autocorrelation peak r of the pitch candidate (0–1), NaN where unvoiced
    intensity: np.ndarray  # dB (Praat: re 2e-5, full scale ≈ 94 dB)
    vad: np.ndarray  # webrtcvad speech decision
    alpha: BlockTrack  # alpha ratio, dB: energy 1–5 kHz over 50 Hz–1 kHz
    flux: np.ndarray  # Euclidean mel-cepstral change from the previous frame (0 for the first)
    cep: BlockTrack  # (n, 12) mel-cepstrum without c0
    duration: float
    samples: int = 0
    clipped: int = 0
    peak: float = 0.0
    periods: int = 0
    jitter_sum: float = 0.0  # Σ jitter(local) × periods, per block
    shimmer_sum: float = 0.0

    @property
    def n(self) -> int:
        """Number of 10 ms frames (0 once released)."""
        return int(self.f0.size)

    def release(self) -> None:
        """Free the per-frame tracks (the whole-clip sums and the duration stay)."""
        empty = np.zeros(0, dtype=np.float32)
        self.f0 = self.intensity = self.flux = empty
        self.vad = np.zeros(0, dtype=bool)
        for blocks in (self.strength, self.alpha, self.cep):
            blocks.close()


@dataclass
class _Parts:
    f0: list[np.ndarray] = field(default_factory=list)
    intensity: list[np.ndarray] = field(default_factory=list)
    vad: list[np.ndarray] = field(default_factory=list)
    flux: list[np.ndarray] = field(default_factory=list)


def _on_grid(xs: np.ndarray, values: np.ndarray, t0: float, n: int, fill: float) -> np.ndarray:
    """Nearest Praat frame (uniform times xs) for each of this block's n grid frames starting at t0."""
    out = np.full(n, fill, dtype=np.float32)
    if not xs.size:
        return out
    grid = t0 + (np.arange(n) + 0.5) * FRAME_S
    j = np.floor((grid - xs[0]) / FRAME_S + 0.5).astype(np.int64)
    ok = (j >= 0) & (j < xs.size)
    out[ok] = values[j[ok]]
    return out


def _spectral(signal: np.ndarray, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Alpha ratio and mel-cepstrum for n frames whose first centre is at sample start + HOP/2.

    Frames go through the FFT ``SPECTRAL_BATCH`` at a time: a 30 s block's spectra at once would be a
    transient of tens of MB, and every frame's values are its own whatever the batch.
    """
    padded = np.concatenate([signal, np.zeros(WIN, dtype=np.float32)])
    first = start + HOP // 2 - WIN // 2
    if first < 0:
        padded = np.concatenate([np.zeros(-first, dtype=np.float32), padded])
        first = 0
    frames = np.lib.stride_tricks.sliding_window_view(padded[first:], WIN)[: n * HOP : HOP]
    alpha = np.empty(n, dtype=np.float32)
    cep = np.empty((n, N_CEP), dtype=np.float32)
    for a in range(0, n, SPECTRAL_BATCH):
        b = min(n, a + SPECTRAL_BATCH)
        power = np.abs(np.fft.rfft(frames[a:b] * _WINDOW, NFFT)) ** 2 + 1e-12
        alpha[a:b] = 10 * np.log10(power[:, _HIGH_BAND].sum(1) / power[:, _LOW_BAND].sum(1))
        cep[a:b] = np.log(power @ _MEL_BANK.T + 1e-10) @ _DCT.T
    return alpha, cep


def _vad(block: np.ndarray, n: int) -> np.ndarray:
    vad = webrtcvad.Vad(VAD_MODE)
    usable = block.size - block.size % VAD_FRAME
    pcm = (np.clip(block[:usable], -1.0, 1.0) * 32767).astype("<i2").tobytes()
    step = VAD_FRAME * 2
    flags = [vad.is_speech(pcm[i : i + step], SAMPLE_RATE) for i in range(0, len(pcm), step)]
    out = np.repeat(np.array(flags, dtype=bool), VAD_FRAME // HOP)
    return np.pad(out, (0, max(0, n - out.size)))[:n]


def _block(
    track: FrameTrack,
    parts: _Parts,
    signal: np.ndarray,
    ctx: int,
    t0: float,
    prev: np.ndarray | None,
    keep_cepstrum: bool = True,
) -> np.ndarray:
    """Analyse one block of ``_frames_in(signal, ctx)`` > 0 frames; returns its last frame's cepstrum
    (``prev`` of the next block's flux)."""
    n = _frames_in(signal, ctx)
    praat_signal = np.pad(signal, (0, max(0, MIN_PRAAT_SAMPLES - signal.size)))
    sound = parselmouth.Sound(
        praat_signal.astype(np.float64), sampling_frequency=SAMPLE_RATE, start_time=t0 - ctx / SAMPLE_RATE
    )
    pitch = sound.to_pitch_ac(time_step=FRAME_S, pitch_floor=PITCH_FLOOR, pitch_ceiling=PITCH_CEILING)
    sel = pitch.selected_array
    freq = np.where(sel["frequency"] > 0, sel["frequency"], np.nan)
    parts.f0.append(_on_grid(pitch.xs(), freq, t0, n, np.nan))
    track.strength.append(
        _on_grid(pitch.xs(), np.where(np.isnan(freq), np.nan, sel["strength"]), t0, n, np.nan)
    )
    intensity = sound.to_intensity(minimum_pitch=PITCH_FLOOR, time_step=FRAME_S, subtract_mean=False)
    parts.intensity.append(_on_grid(intensity.xs(), intensity.values[0], t0, n, np.nan))
    parts.vad.append(_vad(signal[ctx:], n))
    alpha, cep = _spectral(signal, ctx, n)
    track.alpha.append(alpha)
    parts.flux.append(_flux(cep, prev))
    if keep_cepstrum:
        track.cep.append(cep)
    _voice_quality(track, sound, pitch)
    return cep[-1].copy()


def _frames_in(signal: np.ndarray, ctx: int) -> int:
    """Whole 10 ms frames in a block of ``signal`` whose first ``ctx`` samples are left context."""
    return (signal.size - ctx) // HOP


def _voice_quality(track: FrameTrack, sound: parselmouth.Sound, pitch: parselmouth.Pitch) -> None:
    """Accumulate Praat jitter (local) and shimmer (local), weighted by the number of periods."""
    if pitch.count_voiced_frames() < 5:
        return
    points = call([sound, pitch], "To PointProcess (cc)")
    periods = int(call(points, "Get number of periods", 0, 0, 0.0001, 0.02, 1.3))
    if periods < 3:
        return
    jitter = call(points, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3)
    shimmer = call([sound, points], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6)
    if np.isfinite(jitter) and np.isfinite(shimmer):
        track.periods += periods
        track.jitter_sum += jitter * periods
        track.shimmer_sum += shimmer * periods


class FrameExtractor:
    """The per-frame analyses fed block by block (a file's decoded blocks, or a live stream's seconds).

    ``keep_cepstrum=False`` leaves ``track.cep`` empty (the flux is still computed): a file's analysis, whose
    speaker clustering reads the cepstrum again in a second pass over the file (``chunk_cepstra``) rather
    than hold 48 bytes a frame for the whole clip.
    """

    def __init__(self, keep_cepstrum: bool = True) -> None:
        self._keep_cepstrum = keep_cepstrum
        empty = np.zeros(0, dtype=np.float32)
        self.track = FrameTrack(
            empty, BlockTrack(), empty, np.zeros(0, bool), BlockTrack(), empty, BlockTrack(N_CEP), 0.0
        )
        self.parts = _Parts()
        self._tail = np.zeros(0, dtype=np.float32)
        self._carry = np.zeros(0, dtype=np.float32)  # samples short of a whole frame, moved to the next block
        self._t0 = 0.0
        self._last_cep: np.ndarray | None = None
        self._frames: list[int] = []  # frames of each pushed block (window() maps blocks to frames)

    def _analyse(self, signal: np.ndarray, ctx: int) -> None:
        n = _frames_in(signal, ctx)
        if n > 0:
            self._last_cep = _block(
                self.track, self.parts, signal, ctx, self._t0, self._last_cep, self._keep_cepstrum
            )
            self._frames.append(n)

    def push(self, raw: np.ndarray) -> None:
        """Analyse one more block of 16 kHz mono float samples (whole 10 ms frames; the rest is carried)."""
        track = self.track
        track.samples += raw.size
        track.clipped += int(np.count_nonzero(np.abs(raw) >= CLIP_LEVEL))
        track.peak = max(track.peak, float(np.abs(raw).max(initial=0.0)))
        block = np.concatenate([self._carry, raw]) if self._carry.size else raw
        usable = block.size - block.size % HOP
        block, self._carry = block[:usable], block[usable:]
        if not usable:
            return
        self._analyse(np.concatenate([self._tail, block]), self._tail.size)
        self._t0 += usable / SAMPLE_RATE
        self._tail = block[-CONTEXT:].copy()

    def finish(self, release: bool = False) -> FrameTrack:
        """Analyse the carried samples (zero-padded to a frame) and assemble the whole track.

        ``release`` frees the per-block parts while assembling (no ``window`` afterwards): a file's analysis.
        """
        if self._carry.size:
            padded = np.concatenate([self._tail, self._carry, np.zeros(HOP - self._carry.size, np.float32)])
            self._analyse(padded, self._tail.size)
            self._carry = np.zeros(0, dtype=np.float32)
        return _assemble(self.track, self.parts, owned=release)

    def window(self, start: int, stop: int) -> FrameTrack:
        """A track of pushed blocks ``start``…``stop - 1`` only (clip-wide sums scaled to its length)."""
        t = self.track
        picked = _Parts(*(list(getattr(self.parts, f)[start:stop]) for f in _Parts.__dataclass_fields__))
        if picked.flux:  # the window's first frame has no predecessor, as in a track of its own
            picked.flux[0] = np.concatenate([np.zeros(1, np.float32), picked.flux[0][1:]])
        frames = sum(x.size for x in picked.f0)
        first = sum(self._frames[:start])
        share = frames * HOP / max(t.samples, 1)
        win = FrameTrack(
            t.f0,
            t.strength.window(first, first + frames),
            t.intensity,
            t.vad,
            t.alpha.window(first, first + frames),
            t.flux,
            t.cep.window(first, first + frames),
            0.0,
            samples=frames * HOP,
            clipped=int(t.clipped * share),
            peak=t.peak,
            periods=t.periods,
            jitter_sum=t.jitter_sum,
            shimmer_sum=t.shimmer_sum,
        )
        return _assemble(win, picked)


def extract_frames(blocks: Iterable[np.ndarray], keep_cepstrum: bool = True) -> FrameTrack:
    """Run every per-frame analysis over a stream of 16 kHz mono blocks."""
    extractor = FrameExtractor(keep_cepstrum)
    for raw in blocks:
        extractor.push(raw)
    return extractor.finish(release=True)


class _ChunkCepstra(FrameExtractor):
    """The second pass of ``chunk_cepstra``: the same blocking as ``FrameExtractor`` (so every frame's
    cepstrum is the one the first pass computed), but only the mel-cepstrum, folded into chunk means."""

    def __init__(self, chunks: list[tuple[int, int]], voiced: np.ndarray) -> None:
        super().__init__(keep_cepstrum=False)
        self.chunks, self.voiced = chunks, voiced
        self.means = np.full((len(chunks), N_CEP), np.nan, dtype=np.float32)
        self._next = 0  # the first chunk not yet complete
        self._rows: list[np.ndarray] = []  # its frames' cepstra so far
        self._done = 0  # frames analysed

    def _analyse(self, signal: np.ndarray, ctx: int) -> None:
        n = _frames_in(signal, ctx)
        if n <= 0:
            return
        _, cep = _spectral(signal, ctx, n)
        start, stop = self._done, self._done + n
        self._done = stop
        while self._next < len(self.chunks):
            a, b = self.chunks[self._next]
            if a >= stop:
                return
            if min(b, stop) > max(a, start):
                self._rows.append(cep[max(a, start) - start : min(b, stop) - start])
            if b > stop:
                return
            self._close_chunk()

    def _close_chunk(self) -> None:
        a, b = self.chunks[self._next]
        rows = np.concatenate(self._rows) if self._rows else np.zeros((0, N_CEP), np.float32)
        if rows.shape[0]:
            self.means[self._next] = chunk_mean(rows, self.voiced[a : a + rows.shape[0]])
        self._rows = []
        self._next += 1

    def result(self) -> np.ndarray:
        """Every chunk's mean (a chunk past the audio's end keeps NaN)."""
        self.finish()
        while self._next < len(self.chunks):
            self._close_chunk()
        return self.means


def chunk_mean(rows: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """A chunk's mean cepstrum: over its voiced frames, or over all of them when none is voiced."""
    return rows[voiced].mean(0) if voiced.any() else rows.mean(0)


def chunk_cepstra(
    blocks: Iterable[np.ndarray], chunks: list[tuple[int, int]], voiced: np.ndarray
) -> np.ndarray:
    """Per chunk (frame ranges in time order, not overlapping): the mean mel-cepstrum of its ``voiced``
    frames (of all its frames when none is voiced), from the same blocks again: (len(chunks), 12) float32.

    Memory follows the block and chunk sizes, not the clip's length; the values are those the first pass's
    ``track.cep`` would have given.
    """
    second = _ChunkCepstra(chunks, voiced)
    for raw in blocks:
        second.push(raw)
    return second.result()


def _join(parts: list[np.ndarray], owned: bool) -> np.ndarray:
    """One array of the parts; ``owned`` parts are released as soon as they are copied (halves the peak)."""
    out = np.concatenate(parts)
    if owned:
        parts.clear()
    return out


def _assemble(track: FrameTrack, parts: _Parts, owned: bool = False) -> FrameTrack:
    if parts.f0:
        track.f0 = _join(parts.f0, owned)
        track.intensity = _join(parts.intensity, owned)
        track.vad = _join(parts.vad, owned)
        track.flux = _join(parts.flux, owned)
    # Praat reports digital silence as -300 dB and leaves edge frames undefined: floor both at 0 dB
    # (an amplitude of 2e-5 full scale), so means and thresholds stay meaningful.
    track.intensity = np.nan_to_num(track.intensity.astype(np.float32, copy=False), copy=False, nan=0.0)
    np.clip(track.intensity, 0.0, None, out=track.intensity)
    track.duration = track.samples / SAMPLE_RATE
    return track
