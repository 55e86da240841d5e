"""Simple speaker-turn separation: cluster short speech chunks by pitch and timbre.

Speech runs are cut into chunks of at most 2 s; each chunk is described by its median F0 (semitones) and
its mean mel-cepstrum. k-means for k = 2..MAX_SPEAKERS is kept only when the clusters are well separated
(silhouette) and differ clearly in pitch or timbre; otherwise the clip is one voice. Limits (documented in
docs/engine.md): overlapping speech is given to one speaker; voices of similar pitch and timbre merge; a
speaker with under ~2 s of speech may be absorbed; chunks shorter than 0.5 s inherit a neighbour's label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .frames import FRAME_S, N_CEP, FrameTrack, chunk_mean
from .prosody import SpeechMap, semitones

__all__ = [
    "Turn",
    "speaker_turns",
    "track_cepstra",
    "ChunkCepstra",
    "MAX_SPEAKERS",
    "NamedVoice",
    "Naming",
    "name_voices",
    "overlap_seconds",
    "turns_from_spans",
    "MIN_NAME_OVERLAP_S",
]

# (chunks as frame ranges, voiced flag per frame) → each chunk's mean mel-cepstrum over its voiced frames
ChunkCepstra = Callable[[list[tuple[int, int]], np.ndarray], np.ndarray]

CHUNK_S = 2.0
MIN_CHUNK_VOICED = 20  # voiced frames needed to describe a chunk
MIN_CHUNKS = 4
MAX_SPEAKERS = 3
MIN_SILHOUETTE = 0.35
MIN_F0_GAP_ST = 3.0  # cluster median pitch apart by this much ...
MIN_TIMBRE_GAP = 2.5  # ... or cepstral centroids apart by this many pooled within-cluster SDs
MIN_SHARE = 0.1  # every speaker holds at least this share of the chunks
SILHOUETTE_MB = 1  # working memory of the silhouette's pairwise distances


@dataclass(frozen=True)
class Turn:
    """One stretch of speech by one speaker (ids "S1", "S2", ... in order of first appearance)."""

    speaker: str
    start: float
    end: float


def _chunks(smap: SpeechMap) -> list[tuple[int, int]]:
    step = int(CHUNK_S / FRAME_S)
    out: list[tuple[int, int]] = []
    for run in smap.runs:
        a, b = int(round(run.start / FRAME_S)), int(round(run.end / FRAME_S))
        n = max(1, int(np.ceil((b - a) / step)))
        edges = np.linspace(a, b, n + 1).astype(int)
        out.extend(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))
    return out


def track_cepstra(track: FrameTrack) -> ChunkCepstra:
    """Chunk cepstra from the track's own ``cep`` (a live stream's track keeps it)."""

    def means(chunks: list[tuple[int, int]], voiced: np.ndarray) -> np.ndarray:
        out = np.zeros((len(chunks), N_CEP), dtype=np.float32)
        for i, (a, b) in enumerate(chunks):
            out[i] = chunk_mean(track.cep.rows(a, b), voiced[a:b])
        return out

    return means


def _features(
    track: FrameTrack, chunks: list[tuple[int, int]], cepstra: ChunkCepstra
) -> tuple[np.ndarray, np.ndarray]:
    voiced = np.isfinite(track.f0)
    cep = cepstra(chunks, voiced)
    feats, ok = [], []
    for (a, b), mean_cep in zip(chunks, cep, strict=True):
        f0 = track.f0[a:b][voiced[a:b]]
        ok.append(f0.size >= MIN_CHUNK_VOICED)
        pitch = float(np.median(semitones(f0))) if f0.size else 0.0
        feats.append(np.concatenate([[pitch], mean_cep]))
    return np.array(feats), np.array(ok, dtype=bool)


def _separated(x: np.ndarray, labels: np.ndarray, k: int) -> bool:
    centres = [x[labels == i] for i in range(k)]
    if min(len(c) for c in centres) < max(1, MIN_SHARE * len(x)):
        return False
    pooled = np.sqrt(np.mean([c[:, 1:].var(0).mean() for c in centres if len(c) > 1] or [1.0])) or 1.0
    for i in range(k):
        for j in range(i + 1, k):
            f0_gap = abs(np.median(centres[i][:, 0]) - np.median(centres[j][:, 0]))
            timbre = np.linalg.norm(centres[i][:, 1:].mean(0) - centres[j][:, 1:].mean(0)) / pooled
            if f0_gap < MIN_F0_GAP_ST and timbre < MIN_TIMBRE_GAP:
                return False
    return True


def _cluster(x: np.ndarray) -> np.ndarray:
    from sklearn import config_context
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    z = (x - x.mean(0)) / (x.std(0) + 1e-6)
    z[:, 0] *= 3.0  # pitch is the most reliable single cue to a change of voice
    best, best_score = np.zeros(len(x), dtype=int), MIN_SILHOUETTE
    for k in range(2, min(MAX_SPEAKERS, len(x) - 1) + 1):
        labels = KMeans(n_clusters=k, n_init=5, random_state=0).fit_predict(z)
        if len(set(labels)) < k:
            continue
        # The silhouette's chunk×chunk distance matrix would grow with the square of the clip's length;
        # row blocks of at most SILHOUETTE_MB give the same score.
        with config_context(working_memory=SILHOUETTE_MB):
            score = float(silhouette_score(z, labels))
        if score > best_score and _separated(x, labels, k):
            best, best_score = labels, score
    return best


def speaker_turns(track: FrameTrack, smap: SpeechMap, cepstra: ChunkCepstra | None = None) -> list[Turn]:
    """Turns in time order; one speaker unless the clustering finds clearly different voices.

    ``cepstra`` gives each chunk's mean mel-cepstrum (default: from ``track.cep``; a file's analysis reads
    them in a second pass over the file, ``frames.chunk_cepstra``).
    """
    chunks = _chunks(smap)
    if not chunks:
        return []
    feats, ok = _features(track, chunks, cepstra or track_cepstra(track))
    labels = np.zeros(len(chunks), dtype=int)
    if ok.sum() >= MIN_CHUNKS:
        labels[ok] = _cluster(feats[ok])
        for i in np.flatnonzero(~ok):  # undescribed chunks take the nearest described neighbour's label
            j = np.flatnonzero(ok)[np.argmin(np.abs(np.flatnonzero(ok) - i))]
            labels[i] = labels[j]
    names: dict[int, str] = {}
    turns: list[Turn] = []
    for (a, b), lab in zip(chunks, labels, strict=True):
        name = names.setdefault(int(lab), f"S{len(names) + 1}")
        if turns and turns[-1].speaker == name and a * FRAME_S - turns[-1].end < 1.0:
            turns[-1] = Turn(name, turns[-1].start, b * FRAME_S)
        else:
            turns.append(Turn(name, a * FRAME_S, b * FRAME_S))
    return turns


# --- naming -------------------------------------------------------------------------------------------
# A meeting vendor's transcript names who spoke when. Each name is matched to the diarized voice its cues
# overlap most (in seconds of speech); a voice takes the name that overlaps it most. Disagreements between
# the two are kept and reported (docs/engine.md, "Speakers"): two names on one voice (voices merged by the
# clustering) and one name on two voices (one person split in two).

MIN_NAME_OVERLAP_S = 0.5  # a name must cover this much of a voice's speech to name it


@dataclass(frozen=True)
class NamedVoice:
    """A diarized voice's name, the seconds of overlap behind it, and every name heard on it."""

    speaker: str
    name: str | None
    overlap_s: float
    overlaps: dict[str, float]  # every name's seconds of overlap with this voice
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Naming:
    """Names per diarized voice, and the transcript names that named no voice (with the reason)."""

    voices: dict[str, NamedVoice]
    unplaced: dict[str, str]


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def overlap_seconds(turns: list[Turn], spans: list[tuple[float, float, str]]) -> dict[str, dict[str, float]]:
    """Seconds of overlap of each voice's turns with each name's spans: {speaker: {name: seconds}}."""
    out: dict[str, dict[str, float]] = {t.speaker: {} for t in turns}
    for t in turns:
        row = out[t.speaker]
        for a, b, name in spans:
            if a < t.end and t.start < b:
                row[name] = row.get(name, 0.0) + _overlap(t.start, t.end, a, b)
    return out


def _naming_flags(
    name: str | None, voices_of: dict[str, list[str]], others: list[str]
) -> list[tuple[str, bool]]:
    return [
        ("name_on_several_voices", bool(name) and len(voices_of.get(name or "", [])) > 1),
        ("several_names_on_voice", bool(name) and bool(others)),
    ]


def name_voices(turns: list[Turn], spans: list[tuple[float, float, str]]) -> Naming:
    """Each voice named after the name whose spans overlap it most (at least ``MIN_NAME_OVERLAP_S``).

    A name that tops several voices names all of them (flag ``name_on_several_voices``); a voice that
    other names also overlap by ``MIN_NAME_OVERLAP_S`` or more is flagged ``several_names_on_voice``;
    a name that names no voice is listed in ``unplaced`` (``no_overlap`` or ``merged_into:<speaker>``)."""
    ov = overlap_seconds(turns, spans)
    best = {
        s: max(row, key=row.__getitem__)
        for s, row in ov.items()
        if row and max(row.values()) >= MIN_NAME_OVERLAP_S
    }
    voices_of: dict[str, list[str]] = {}
    for s, n in best.items():
        voices_of.setdefault(n, []).append(s)
    voices: dict[str, NamedVoice] = {}
    for s, row in ov.items():
        name = best.get(s)
        others = [n for n, v in row.items() if n != name and v >= MIN_NAME_OVERLAP_S]
        flags = [f for f, on in _naming_flags(name, voices_of, others) if on]
        rounded = {n: round(v, 2) for n, v in sorted(row.items(), key=lambda kv: -kv[1])}
        voices[s] = NamedVoice(s, name, round(row.get(name, 0.0), 2) if name else 0.0, rounded, tuple(flags))
    unplaced = {}
    for n in dict.fromkeys(n for _, _, n in spans):
        if n in voices_of:
            continue
        heard = [(row.get(n, 0.0), s) for s, row in ov.items()]
        top = max(heard, default=(0.0, ""))
        unplaced[n] = f"merged_into:{top[1]}" if top[0] >= MIN_NAME_OVERLAP_S else "no_overlap"
    return Naming(voices, unplaced)


def turns_from_spans(spans: list[tuple[float, float, str]]) -> list[Turn]:
    """Turns taken from named spans (ids S1, S2, ... by first appearance), for a recording with one voice."""
    ids: dict[str, str] = {}
    turns = []
    for a, b, name in sorted(spans):
        turns.append(Turn(ids.setdefault(name, f"S{len(ids) + 1}"), a, b))
    return turns
