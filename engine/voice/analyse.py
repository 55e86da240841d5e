"""``analyse_audio``: decoded audio → per-second and whole-clip voice report (modality "audio").

Nothing here is a lie detector: credibility and trust summarise signal congruence, stress markers and
signal quality; they are not verdicts on honesty.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from engine import __version__
from engine.fusion.trust import (
    TRUST_TABLE,
    agreement,
    component,
    compose,
    credibility,
    quality,
    unscored,
    voice_support,
    weighted,
)
from engine.media import iter_audio, probe
from engine.media.decode import DEFAULT_MAX_SECONDS
from engine.memory import trim
from engine.report import (
    VAD,
    EngineInfo,
    Evidence,
    Quality,
    Report,
    Segment,
    SpeakerSummary,
    TranscriptSegment,
    Trust,
    TrustComponent,
)
from engine.report import Word as WordModel
from engine.transcripts import Cue

from . import asr as asr_mod
from .affect import GENERIC_BASELINE, MIN_SD, VoiceBaseline, arousal_logit, dominance_logit, sigmoid
from .cues import cues_for
from .frames import FRAME_S, FrameTrack, chunk_cepstra, extract_frames
from .measures import (
    TOO_SHORT_SPEECH_S,
    FilledPause,
    FormantSpacing,
    clip_measures,
    formant_spacing,
    hesitation,
    merge_filled_pauses,
    quality_flags,
    snr_db,
)
from .prosody import SpeechMap, prosodic_filled_pauses, speech_map, syllable_nuclei
from .speakers import ChunkCepstra, Naming, Turn, name_voices, speaker_turns, turns_from_spans

__all__ = ["analyse_audio", "audio_draft", "report_from_track", "PARALLEL_ASR_MIN_SECONDS"]

PARALLEL_ASR_MIN_SECONDS = 60.0  # shorter clips: ASR in-process (spawning workers costs ~1 s)
SEGMENT_GAP_S = 0.6  # a transcript segment ends at a silence this long, or at a change of speaker
SECOND_DEVIATION_GAIN = 0.7  # how far a second's own cues move it from its speaker's level
# The Trust weights, penalties and band are the composer's (engine/fusion/trust.py, row "voice").
RULES = TRUST_TABLE["voice"]
FULL_SPEECH_S = 10.0  # seconds of speech that make a full amount of signal: quality = √(min(1, speech / 10))
JITTER_NORM = 0.0104  # Praat's jitter (local) threshold for pathology (Boersma & Weenink, Praat manual)
ENGLISH = ("en",)
VENDOR_TRANSCRIPT_CONFIDENCE = 0.9  # a meeting vendor's transcript words, beside the recogniser's posteriors
HESITATION_FORMULA = (
    "HI = 100 × (silent pauses ≥ 250 ms + filled pauses) / syllables; score = 1 − exp(−HI/10)"
)


@dataclass
class _Clip:
    track: FrameTrack
    smap: SpeechMap
    nuclei: np.ndarray
    turns: list[Turn]
    frame_speaker: np.ndarray  # int8 per frame: index into ``speaker_names``, −1 outside speech
    speaker_names: list[str]
    words: list[asr_mod.Word] = field(default_factory=list)
    filled: list[FilledPause] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    split_by: str | None = None  # "transcript" when the transcript's names split one diarized voice
    spacing: FormantSpacing | None = None  # vocal-tract scale (files only): the generic F0 reference


def analyse_audio(
    path: str | Path,
    *,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    asr: bool = True,
    language: str = "en",
    baseline: VoiceBaseline | None = None,
    workers: int | None = None,
    cues: Sequence[Cue] | None = None,
) -> Report:
    """Analyse one audio (or video) file; raises ``MediaError`` for unusable media, never for silence.

    ``cues``: a meeting transcript's timed cues (``engine.transcripts``); their speaker names name the
    diarized voices, and their words stand in for speech recognition when ``asr`` is off."""
    return audio_draft(
        path,
        max_seconds=max_seconds,
        asr=asr,
        language=language,
        baseline=baseline,
        workers=workers,
        cues=cues,
    )()


def audio_draft(
    path: str | Path,
    *,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    asr: bool = True,
    language: str = "en",
    baseline: VoiceBaseline | None = None,
    workers: int | None = None,
    cues: Sequence[Cue] | None = None,
) -> Callable[[], Report]:
    """``analyse_audio`` up to its report: all the work that reads the audio, done; calling the result
    builds the report. A caller that waits on something else before it needs the report (a video's voice,
    done long before its face loop) holds a few compact figures a second instead of the report's objects."""
    timings: dict[str, float] = {}
    info = probe(path)
    english = language.lower().split("-")[0] in ENGLISH
    workers = workers or min(2, os.cpu_count() or 1)
    duration = info.duration or 0.0
    pool, futures = None, None
    if asr and english and workers > 1 and duration >= PARALLEL_ASR_MIN_SECONDS:
        pool, futures = _start_parallel_asr(str(path), max_seconds, duration, workers)
    try:
        t0 = time.perf_counter()
        clip = _prosody(path, max_seconds, _spans(cues))
        timings["decode_prosody_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        if futures is not None:
            clip.words = [w for f in futures for w in f.result()]
        elif asr and english and "no_speech" not in clip.flags:
            clip.words = asr_mod.transcribe(str(path), max_seconds=max_seconds)
        timings["asr_wait_s" if futures is not None else "asr_s"] = time.perf_counter() - t1
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if not english:
        clip.flags.append("language_unsupported")
    return _draft(
        clip,
        asr=asr and english,
        baseline=baseline,
        timings=timings,
        release_frames=True,
        transcript_cues=cues,
    )


def _start_parallel_asr(
    path: str, max_seconds: float, duration: float, workers: int
) -> tuple[ProcessPoolExecutor, list[Future[list[asr_mod.Word]]]]:
    import multiprocessing as mp

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    edges = [duration * i / workers for i in range(workers)] + [float("inf")]
    futures = [
        pool.submit(asr_mod.transcribe, path, max_seconds=max_seconds, share=(edges[i], edges[i + 1]))
        for i in range(workers)
    ]
    return pool, futures


def _prosody(path: str | Path, max_seconds: float, spans: list[tuple[float, float, str]]) -> _Clip:
    # The mel-cepstrum is read only by speaker clustering, per chunk: a second pass over the file gives
    # those means instead of 48 bytes a frame held for the whole clip (memory stays flat with length).
    track = extract_frames(iter_audio(path, max_seconds=max_seconds), keep_cepstrum=False)
    trim()  # the decoding's freed blocks, interleaved on the heap with the tracks kept

    def cepstra(chunks: list[tuple[int, int]], voiced: np.ndarray) -> np.ndarray:
        means = chunk_cepstra(iter_audio(path, max_seconds=max_seconds), chunks, voiced)
        trim()
        return means

    clip = _clip(track, cepstra=cepstra, spans=spans)
    clip.spacing = formant_spacing(iter_audio(path, max_seconds=max_seconds), track.f0)
    return clip


def report_from_track(
    track: FrameTrack,
    words: list[asr_mod.Word],
    *,
    asr: bool,
    baseline: VoiceBaseline | None = None,
    speakers: bool = True,
    cues: Sequence[Cue] | None = None,
) -> Report:
    """The voice report of an already extracted frame track and its recognised words (a live stream).

    ``speakers=False`` skips speaker clustering (all speech is "S1"): for short windows of one live voice.
    ``cues``: named spans of speech (a transcript, or a meeting client's active-speaker events).
    """
    clip = _clip(track, speakers, spans=_spans(cues) if speakers else [])
    clip.words = list(words)
    return _report(clip, asr=asr, baseline=baseline, timings={}, cues=cues if speakers else None)


def _spans(cues: Sequence[Cue] | None) -> list[tuple[float, float, str]]:
    """The named cues as (start, end, name)."""
    return [(c.start, c.end, c.speaker) for c in cues or () if c.speaker and c.end > c.start]


def _clip(
    track: FrameTrack,
    speakers: bool = True,
    cepstra: ChunkCepstra | None = None,
    spans: list[tuple[float, float, str]] | None = None,
) -> _Clip:
    smap = speech_map(track)
    nuclei = syllable_nuclei(track, smap)
    turns = (
        speaker_turns(track, smap, cepstra) if speakers else [Turn("S1", r.start, r.end) for r in smap.runs]
    )
    split_by = None
    if spans and len({t.speaker for t in turns}) <= 1 and len({n for _, _, n in spans}) >= 2:
        turns, split_by = turns_from_spans(spans), "transcript"  # one voice found, several people named
    # Sorted names: code order is name order, so ties in _majority resolve as they would on the names.
    names = sorted({t.speaker for t in turns})
    frame_speaker = np.full(track.n, -1, dtype=np.int8)
    for t in turns:
        frame_speaker[int(round(t.start / FRAME_S)) : int(round(t.end / FRAME_S))] = names.index(t.speaker)
    frame_speaker[~smap.speech] = -1
    clip = _Clip(track, smap, nuclei, turns, frame_speaker, names, split_by=split_by)
    clip.flags = quality_flags(track, smap, nuclei, snr_db(track, smap))
    return clip


# --- affect -------------------------------------------------------------------------------------------


def _speaker_cues(clip: _Clip) -> dict[str, dict[str, float | None]]:
    return {
        s: cues_for(clip.track, _frames_of(clip, s), clip.nuclei, clip.spacing)
        for s in dict.fromkeys(t.speaker for t in clip.turns)
    }


def _speaker_vad(
    clip: _Clip, cues: dict[str, dict[str, float | None]], baseline: VoiceBaseline | None
) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    """Per speaker: (arousal logit, dominance logit); plus the confidences of the clip-level estimates."""
    ref = baseline if baseline is not None and len(cues) == 1 else GENERIC_BASELINE
    talk = {s: float(_frames_of(clip, s).sum()) * FRAME_S for s in cues}
    total = sum(talk.values()) or 1.0
    out, cover_a, cover_d = {}, [], []
    for s, c in cues.items():
        z = ref.z(c)
        a, ca = arousal_logit(z)
        d, cd = dominance_logit(z)
        if len(cues) > 1:  # talk share above an equal split reads as holding the floor
            d += 1.5 * (talk[s] / total - 1.0 / len(cues))
        out[s] = (a, d)
        cover_a.append(ca)
        cover_d.append(cd)
    speech_s = float(clip.smap.speech.sum()) * FRAME_S
    amount = min(1.0, speech_s / 10.0)
    base = 0.8 if ref is not GENERIC_BASELINE else 0.55
    conf = {
        "arousal": round(base * amount * float(np.mean(cover_a or [0])), 3),
        "dominance": round(0.35 * amount * float(np.mean(cover_d or [0])), 3),
        "valence": 0.1,
        "baseline": ref.source,
    }
    return out, conf  # type: ignore[return-value]


def _second_deviation(clip: _Clip, n_sec: int) -> np.ndarray:
    """Each second's arousal logit relative to its speaker, from cues z-scored within that speaker."""
    dev = np.zeros(n_sec)
    per: dict[str, list[tuple[int, dict[str, float | None]]]] = {}
    for i in range(n_sec):
        sl = slice(i * 100, (i + 1) * 100)
        spk = _majority(clip, sl)
        if not spk:
            continue
        mask = np.zeros(clip.track.n, dtype=bool)
        mask[sl] = clip.frame_speaker[sl] == clip.speaker_names.index(spk)
        per.setdefault(spk, []).append((i, cues_for(clip.track, mask, clip.nuclei)))
    for rows in per.values():
        for cue in MIN_SD:
            vals = np.array([c[cue] for _, c in rows if c[cue] is not None], dtype=float)
            if vals.size < 3:
                continue
            centre, spread = _robust_reference(vals, MIN_SD[cue])
            for _, c in rows:
                if c[cue] is not None:
                    c[cue] = float(np.clip((float(c[cue] or 0.0) - centre) / spread, -4, 4))
        for i, c in rows:
            z = {k: v for k, v in c.items() if v is not None}
            if z and len(rows) >= 3:
                dev[i] = SECOND_DEVIATION_GAIN * arousal_logit(z)[0]
    return dev


def _robust_reference(vals: np.ndarray, floor: float) -> tuple[float, float]:
    """The speaker's own reference for one cue: median and 1.4826 × MAD (an SD under normality), floored.

    Median/MAD keep a few loud or high seconds (the very ones to be scored) from moving the reference.
    """
    centre = float(np.median(vals))
    return centre, max(1.4826 * float(np.median(np.abs(vals - centre))), floor)


def _frames_of(clip: _Clip, speaker: str) -> np.ndarray:
    """Boolean mask of the speech frames given to ``speaker``."""
    return clip.frame_speaker == clip.speaker_names.index(speaker)


def _majority(clip: _Clip, sl: slice) -> str:
    """The speaker of most (at least 20) of the frames in ``sl``, or ""."""
    labels = clip.frame_speaker[sl]
    vals, counts = np.unique(labels[labels >= 0], return_counts=True)
    return clip.speaker_names[int(vals[np.argmax(counts)])] if vals.size and counts.max() >= 20 else ""


# --- transcript ---------------------------------------------------------------------------------------


def _speaker_at(clip: _Clip, t: float) -> str | None:
    i = min(max(int(t / FRAME_S), 0), max(clip.track.n - 1, 0))
    code = int(clip.frame_speaker[i]) if clip.track.n else -1
    return clip.speaker_names[code] if code >= 0 else None


def _transcript(clip: _Clip) -> list[TranscriptSegment]:
    segs: list[TranscriptSegment] = []
    for w in clip.words:
        spk = _speaker_at(clip, (w.start + w.end) / 2)
        model = WordModel(
            text=w.text,
            start=round(w.start, 3),
            end=round(w.end, 3),
            confidence=round(w.confidence, 3),
            filler=w.text in asr_mod.FILLER_WORDS,
        )
        last = segs[-1] if segs else None
        if last and w.start - last.end < SEGMENT_GAP_S and (spk is None or last.speaker in (None, spk)):
            last.words.append(model)
            last.end = model.end
        else:
            segs.append(
                TranscriptSegment(start=model.start, end=model.end, text="", speaker=spk, words=[model])
            )
    for s in segs:
        s.text = " ".join(w.text for w in s.words if not w.filler)
    return [s for s in segs if s.text]


def _lexical_vad(segs: list[TranscriptSegment], flags: list[str]) -> dict[str, str]:
    """Fill each segment's lexical VAD from the text engine; flag and carry on if it is unavailable."""
    if not segs:
        return {}
    try:
        from engine.text import get_analyser

        analyser = get_analyser()
        batch = getattr(analyser, "analyse_batch", None)
        reports = batch([s.text for s in segs]) if batch else [analyser.analyse(s.text) for s in segs]
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        flags.append("text_engine_unavailable")
        return {"text_engine_error": type(exc).__name__}
    for seg, rep in zip(segs, reports, strict=True):
        seg.vad = rep.vad
    return dict(reports[0].engine.models) if reports else {}


def _n_words(seg: TranscriptSegment) -> int:
    """Words of a segment: recognised ones, else (a transcript's cue) the words of its text."""
    return len(seg.words) or len(seg.text.split())


def _word_confidence(clip: _Clip) -> float:
    """Mean recogniser confidence; a meeting transcript's cues (no recogniser) count as 0.9."""
    return float(np.mean([w.confidence for w in clip.words])) if clip.words else VENDOR_TRANSCRIPT_CONFIDENCE


def _cue_segments(clip: _Clip, cues: Sequence[Cue]) -> list[TranscriptSegment]:
    """Transcript segments from a meeting transcript's cues, each given the voice heard most within it."""
    out = []
    for c in cues:
        if not c.text.strip() or c.end <= c.start:
            continue
        codes = clip.frame_speaker[int(c.start / FRAME_S) : int(np.ceil(c.end / FRAME_S))]
        codes = codes[codes >= 0]
        spk = clip.speaker_names[int(np.bincount(codes).argmax())] if codes.size else None
        out.append(TranscriptSegment(start=c.start, end=c.end, text=c.text, speaker=spk))
    return out


# --- speakers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Own:
    """One speaker's share of the clip's hesitation and quality evidence."""

    pauses: list[Any]
    filled: list[FilledPause]
    hscore: float
    speech_s: float
    flags: list[str]


@dataclass(frozen=True)
class _SpeakerView:
    """What a speaker's summary is built from (the clip's figures and the speaker's own)."""

    clip: _Clip
    own: _Own
    seconds: list[Segment]
    segs: list[TranscriptSegment]
    measures: dict[str, Any]
    conf: dict[str, Any]


def _speaker_own(clip: _Clip, speaker: str) -> _Own:
    """Pauses between two stretches of this speaker's speech, their filled pauses, syllables, flags."""
    code = clip.speaker_names.index(speaker)

    def at(t: float) -> int:
        return int(clip.frame_speaker[min(max(int(round(t / FRAME_S)), 0), clip.frame_speaker.size - 1)])

    pauses = [p for p in clip.smap.pauses if at(p.start - 0.02) == code and at(p.end + 0.02) == code]
    filled = [f for f in clip.filled if _speaker_at(clip, (f.start + f.end) / 2) == speaker]
    frames = _frames_of(clip, speaker)
    idx = np.clip((clip.nuclei / FRAME_S).astype(int), 0, max(0, frames.size - 1))
    syllables = int(frames[idx].sum()) if clip.nuclei.size else 0
    speech_s = float(frames.sum()) * FRAME_S
    flags = [f for f in clip.flags if f not in ("too_short", "no_speech")]
    if speech_s < TOO_SHORT_SPEECH_S:
        flags.append("too_short")
    return _Own(pauses, filled, hesitation(len(pauses), len(filled), syllables)[1], speech_s, flags)


def _own_valence(segs: list[TranscriptSegment], speaker: str, default: float) -> float:
    own = _text_vad(segs, speaker)
    return own.valence if own is not None else default


def _text_vad(segs: list[TranscriptSegment], speaker: str) -> VAD | None:
    """Word-weighted mean lexical V/A/D of the speaker's own transcript segments."""
    mine = [(s.vad, _n_words(s)) for s in segs if s.speaker == speaker and s.vad is not None]
    if not mine:
        return None
    w = np.array([n for _, n in mine], dtype=float)
    return VAD(
        **{
            d: round(float(np.average([getattr(v, d) for v, _ in mine], weights=w)), 4)
            for d in ("valence", "arousal", "dominance")
        }
    )


def _speaker_trust(summary: SpeakerSummary, view: _SpeakerView) -> Trust:
    """The voice Trust Score's own components over this speaker's seconds, transcript and hesitations."""
    s, own, clip = summary.id, view.own, view.clip
    sub = replace(clip, smap=replace(clip.smap, pauses=own.pauses), filled=own.filled, flags=own.flags)
    seconds = [x for x in view.seconds if x.speaker == s]
    segs = [x for x in view.segs if x.speaker == s]
    measures = {**view.measures, "speech_s": own.speech_s}
    return _trust(sub, summary.vad, seconds, segs, own.hscore, measures, view.conf)


def _naming_evidence(naming: Naming, speaker: str, split_by: str | None) -> list[Evidence]:
    voice = naming.voices.get(speaker)
    if voice is None:
        return []
    how = (
        "transcript cues of this name that split the one voice found"
        if split_by
        else ("seconds of this name's transcript cues overlapping this voice")
    )
    return [Evidence(kind="name_overlap", detail=how, text=n, value=v) for n, v in voice.overlaps.items()]


def _speaker_summary(summary: SpeakerSummary, view: _SpeakerView, naming: Naming | None) -> SpeakerSummary:
    """The summary with its lexical V/A/D, own Trust Score and flags, and its name from the transcript."""
    trust = _speaker_trust(summary, view)
    flags = [f for f in view.own.flags if f == "too_short"]
    voice = naming.voices.get(summary.id) if naming else None
    if voice is not None and voice.name:
        flags += list(voice.flags) + (["split_by_transcript"] if view.clip.split_by else [])
    return summary.model_copy(
        update={
            "text_vad": _text_vad(view.segs, summary.id),
            "trust": trust,
            "trust_score": trust.score,
            "quality": Quality(flags=flags),
            "name": voice.name if voice else None,
            "named_by": "transcript" if voice and voice.name else None,
            "naming": _naming_evidence(naming, summary.id, view.clip.split_by) if naming else [],
        }
    )


def _naming_dict(clip: _Clip, naming: Naming) -> dict[str, Any]:
    """How the transcript's names were placed on the voices (``voice.speaker_naming``)."""
    return {
        "source": "transcript",
        "split_by": clip.split_by,
        "voices": {
            s: {"name": v.name, "overlap_s": v.overlap_s, "overlaps": v.overlaps, "flags": list(v.flags)}
            for s, v in naming.voices.items()
        },
        "unplaced": naming.unplaced,
    }


# --- report -------------------------------------------------------------------------------------------


def _vad(a_logit: float, d_logit: float, valence: float) -> VAD:
    return VAD(
        valence=round(valence, 4), arousal=round(sigmoid(a_logit), 4), dominance=round(sigmoid(d_logit), 4)
    )


def _lexical_valence(segs: list[TranscriptSegment], start: float, end: float) -> float | None:
    hits = [(s.vad.valence, _n_words(s)) for s in segs if s.vad and s.start < end and start < s.end]
    if not hits:
        return None
    return float(np.average([v for v, _ in hits], weights=[n for _, n in hits]))


def _report(
    clip: _Clip,
    *,
    asr: bool,
    baseline: VoiceBaseline | None,
    timings: dict[str, float],
    cues: Sequence[Cue] | None = None,
) -> Report:
    return _draft(clip, asr=asr, baseline=baseline, timings=timings, transcript_cues=cues)()


def _draft(
    clip: _Clip,
    *,
    asr: bool,
    baseline: VoiceBaseline | None,
    timings: dict[str, float],
    release_frames: bool = False,
    transcript_cues: Sequence[Cue] | None = None,
) -> Callable[[], Report]:
    """Every figure of the voice report that reads the frame tracks; the returned call builds the report
    (its per-second segments, Python objects of ~2 KB a second) from them. ``release_frames``: the clip's
    frame tracks are freed before it returns (a file's analysis; a live stream's window shares its tracks
    with the stream)."""
    no_speech = "no_speech" in clip.flags
    measures, hi, hscore = _hesitations(clip, no_speech)
    segs, models = _words(clip, asr, measures, transcript_cues)
    duration = clip.track.duration
    n_sec = int(np.ceil(duration - 1e-9)) if duration else 0
    affect = _affect(clip, segs, baseline, n_sec, no_speech)
    rows = _second_rows(clip, n_sec)
    f0_means = {s: _f0_mean(clip, s) for s in affect.spk_vad}
    own = {s: _speaker_own(clip, s) for s in affect.spk_vad}
    spans = _spans(transcript_cues)
    naming = name_voices(clip.turns, spans) if spans else None
    voice = _voice_dict(
        clip, measures, clip.smap.pauses, clip.filled, hi, hscore, affect.cues, affect.conf, timings, baseline
    )
    if naming is not None:
        voice["speaker_naming"] = _naming_dict(clip, naming)
    draft = _Draft(clip, rows, duration, affect, segs, hscore, measures, f0_means, own, naming, voice, models)
    if release_frames:
        clip.track.release()
        trim()  # their pages back to the system: the segments below are Python objects, from other pages
    return partial(_build, draft)


def _hesitations(clip: _Clip, no_speech: bool) -> tuple[dict[str, Any], float, float]:
    """The clip's filled pauses (kept on the clip), its whole-clip measures, hesitation index and score."""
    track, smap = clip.track, clip.smap
    clip.filled = (
        merge_filled_pauses(prosodic_filled_pauses(track, smap), clip.words, smap.speech)
        if not no_speech
        else []
    )
    measures = clip_measures(track, smap, clip.nuclei)
    hi, hscore = hesitation(len(smap.pauses), len(clip.filled), int(clip.nuclei.size))
    return measures, hi, hscore


def _words(
    clip: _Clip, asr: bool, measures: dict[str, Any], transcript_cues: Sequence[Cue] | None
) -> tuple[list[TranscriptSegment], dict[str, str]]:
    """The transcript segments with their lexical V/A/D, and the models that made them."""
    segs = _transcript(clip) if clip.words or not transcript_cues else _cue_segments(clip, transcript_cues)
    models: dict[str, str] = {"praat-parselmouth": _version("parselmouth"), "webrtcvad": "webrtcvad-wheels"}
    if asr:
        models["pocketsphinx"] = _version("pocketsphinx") + " en-us (topn=2, maxhmmpf=3000)"
        if clip.words and len(clip.words) / max(clip.nuclei.size, 1) < 0.1 and measures["speech_s"] >= 5:
            clip.flags.append("language_unsupported")
    if asr or (segs and not clip.words):  # recognised words, or the meeting transcript's own cues
        models.update({f"text:{k}": v for k, v in _lexical_vad(segs, clip.flags).items()})
    return segs, models


@dataclass(frozen=True)
class _Affect:
    """The clip's vocal affect: each speaker's cues and (arousal, dominance) logits, the confidences, each
    second's deviation from its speaker, talk times, the lexical valence and the clip's V/A/D."""

    cues: dict[str, dict[str, float | None]]
    spk_vad: dict[str, tuple[float, float]]
    conf: dict[str, Any]
    dev: np.ndarray
    talk: dict[str, float]
    total_talk: float
    valence: float
    clip_vad: VAD | None


def _affect(
    clip: _Clip, segs: list[TranscriptSegment], baseline: VoiceBaseline | None, n_sec: int, no_speech: bool
) -> _Affect:
    cues = _speaker_cues(clip) if not no_speech else {}
    spk_vad, conf = (
        _speaker_vad(clip, cues, baseline)
        if cues
        else ({}, {"arousal": 0.0, "dominance": 0.0, "valence": 0.0})
    )
    dev = _second_deviation(clip, n_sec) if cues else np.zeros(n_sec)
    talk = {s: float(_frames_of(clip, s).sum()) * FRAME_S for s in spk_vad}
    lex_val = _lexical_valence(segs, 0.0, clip.track.duration)
    valence = lex_val if lex_val is not None else 0.5
    if lex_val is not None:
        conf["valence"] = round(
            min(0.4, 0.02 * sum(_n_words(s) for s in segs)) * _word_confidence(clip) + 0.1, 3
        )
    clip_vad = _clip_vad(spk_vad, talk, valence)
    return _Affect(cues, spk_vad, conf, dev, talk, sum(talk.values()) or 1.0, valence, clip_vad)


def _clip_vad(spk_vad: dict[str, tuple[float, float]], talk: dict[str, float], valence: float) -> VAD | None:
    """The speakers' arousal and dominance weighted by talk time, with the clip's lexical valence."""
    if not spk_vad:
        return None
    weights = [talk[s] or 1e-6 for s in spk_vad]
    a = float(np.average([sigmoid(v[0]) for v in spk_vad.values()], weights=weights))
    d = float(np.average([sigmoid(v[1]) for v in spk_vad.values()], weights=weights))
    return VAD(valence=round(valence, 4), arousal=round(a, 4), dominance=round(d, 4))


@dataclass(frozen=True)
class _Draft:
    """What the voice report is built from once the frame tracks are gone."""

    clip: _Clip
    rows: list[_SecondRow]
    duration: float
    affect: _Affect
    segs: list[TranscriptSegment]
    hscore: float
    measures: dict[str, Any]
    f0_means: dict[str, float | None]
    own: dict[str, _Own]
    naming: Naming | None
    voice: dict[str, Any]
    models: dict[str, str]


def _build(d: _Draft) -> Report:
    """The voice report: per-second segments, Trust, per-second credibility and the speakers."""
    clip, a = d.clip, d.affect
    seconds = _seconds(clip, d.rows, d.duration, a.spk_vad, a.dev, d.segs)
    trust = _trust(clip, a.clip_vad, seconds, d.segs, d.hscore, d.measures, a.conf)
    return Report(
        modality="audio",
        engine=EngineInfo(version=__version__, models=d.models),
        vad=a.clip_vad,
        trust_score=trust.score,
        trust=trust,
        segments=seconds,
        credibility=_second_credibility(clip, seconds, trust),
        quality=Quality(flags=clip.flags),
        voice=d.voice,
        transcript=d.segs,
        speakers=_speakers(d, seconds),
    )


def _second_credibility(clip: _Clip, seconds: list[Segment], trust: Trust) -> list[float]:
    """Each voiced second's credibility from the clip's congruence and the second's stress (set on it)."""
    congruence = next((c.value for c in trust.components if c.name == "signal_congruence"), 0.5)
    out: list[float] = []
    for seg, stress in zip(seconds, _second_stress(clip, seconds), strict=True):
        if seg.vad is not None:
            seg.credibility = credibility(congruence, stress)
            out.append(seg.credibility)
    return out


def _speakers(d: _Draft, seconds: list[Segment]) -> list[SpeakerSummary]:
    clip, a = d.clip, d.affect
    return [
        _speaker_summary(
            SpeakerSummary(
                id=s,
                talk_time=round(a.talk[s], 2),
                talk_share=round(a.talk[s] / a.total_talk, 3),
                turns=sum(t.speaker == s for t in clip.turns),
                f0_mean_hz=d.f0_means[s],
                speech_rate=round(a.cues[s]["rate"], 2) if a.cues[s].get("rate") is not None else None,  # type: ignore[arg-type]
                vad=_vad(a.spk_vad[s][0], a.spk_vad[s][1], _own_valence(d.segs, s, a.valence)),
            ),
            _SpeakerView(clip, d.own[s], seconds, d.segs, d.measures, a.conf),
            d.naming,
        )
        for s in a.spk_vad
    ]


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    names = {"parselmouth": "praat-parselmouth"}
    try:
        return version(names.get(module, module))
    except PackageNotFoundError:
        return "unknown"


def _f0_mean(clip: _Clip, speaker: str) -> float | None:
    f0 = clip.track.f0[_frames_of(clip, speaker) & np.isfinite(clip.track.f0)]
    return round(float(f0.mean()), 1) if f0.size else None


@dataclass(frozen=True, slots=True)
class _SecondRow:
    """One second's figures taken from the frame tracks (the segment is built from these)."""

    f0_hz: float | None
    intensity_db: float | None
    speech: bool
    speech_rate: float | None
    speaker: str


def _second_rows(clip: _Clip, n_sec: int) -> list[_SecondRow]:
    track, smap = clip.track, clip.smap
    out = []
    for i in range(n_sec):
        sl = slice(i * 100, min((i + 1) * 100, track.n))
        speech = smap.speech[sl]
        voiced = track.f0[sl][speech & np.isfinite(track.f0[sl])]
        window = (clip.nuclei >= i - 1) & (clip.nuclei < i + 2)
        span = min(i + 2, track.duration) - max(i - 1, 0)
        out.append(
            _SecondRow(
                f0_hz=round(float(np.median(voiced)), 1) if voiced.size >= 3 else None,
                intensity_db=round(float(track.intensity[sl].mean()), 1) if speech.size else None,
                speech=bool(speech.mean() >= 0.25) if speech.size else False,
                speech_rate=round(float(window.sum()) / span, 2) if span > 0 else None,
                speaker=_majority(clip, sl),
            )
        )
    return out


def _seconds(
    clip: _Clip,
    rows: list[_SecondRow],
    duration: float,
    spk_vad: dict[str, tuple[float, float]],
    dev: np.ndarray,
    segs: list[TranscriptSegment],
) -> list[Segment]:
    smap = clip.smap
    out = []
    for i, row in enumerate(rows):
        spk = row.speaker
        seg = Segment(
            start=float(i),
            end=float(min(i + 1, duration)),
            f0_hz=row.f0_hz,
            intensity_db=row.intensity_db,
            speech=row.speech,
            pause=any(p.start < i + 1 and i < p.end for p in smap.pauses),
            speech_rate=row.speech_rate,
            speaker=spk or None,
        )
        if spk and spk in spk_vad:
            a, d = spk_vad[spk]
            lex = _lexical_valence(segs, i, i + 1)
            seg.vad = _vad(a + dev[i], d, lex if lex is not None else 0.5)
        seg.evidence = [
            Evidence(
                kind="pause",
                detail="silent pause ≥ 250 ms",
                start=round(p.start, 2),
                end=round(p.end, 2),
                value=round(p.duration, 2),
            )
            for p in smap.pauses
            if i <= p.start < i + 1
        ] + [
            Evidence(
                kind="filled_pause",
                detail=f"filled pause ({f.source})",
                start=round(f.start, 2),
                end=round(f.end, 2),
                text=f.token,
            )
            for f in clip.filled
            if i <= f.start < i + 1
        ]
        out.append(seg)
    return out


def _second_stress(clip: _Clip, seconds: list[Segment]) -> list[float]:
    """Per second: hesitations near it (2 in a 3 s window saturate) and raised arousal, weighted."""
    events = [p.start for p in clip.smap.pauses] + [f.start for f in clip.filled]
    out = []
    for i, seg in enumerate(seconds):
        near = sum(i - 1 <= t < i + 2 for t in events)
        raised = max(0.0, (seg.vad.arousal - 0.5) * 2) if seg.vad else 0.0
        out.append(weighted(RULES.moment_stress, {"hesitation": min(1.0, near / 2), "arousal": raised}))
    return out


def _quality_component(clip: _Clip, measures: dict[str, Any]) -> TrustComponent:
    amount = min(1.0, (measures["speech_s"] / FULL_SPEECH_S) ** 0.5)
    value, penalised = quality("voice", amount, clip.flags)
    evidence = [
        Evidence(
            kind="speech_seconds", detail="seconds of detected speech", value=round(measures["speech_s"], 2)
        )
    ]
    evidence += [Evidence(kind="quality_flag", detail=flag) for flag in penalised]
    return component("voice", "signal_quality", round(value, 3), evidence)


def _stress_component(
    clip: _Clip, clip_vad: VAD | None, hscore: float, measures: dict[str, Any]
) -> TrustComponent:
    jitter = measures.get("jitter_local") or 0.0
    raised = max(0.0, (clip_vad.arousal - 0.5) * 2) if clip_vad else 0.0
    jit = min(1.0, max(0.0, (jitter - JITTER_NORM) / JITTER_NORM))
    stress = weighted(RULES.stress, {"hesitation": hscore, "arousal": raised, "jitter": jit})
    evidence = [
        Evidence(kind="hesitation_score", detail="1 − exp(−HI/10)", value=round(hscore, 3)),
        Evidence(kind="arousal_elevation", detail="vocal arousal above neutral", value=round(raised, 3)),
        Evidence(kind="jitter", detail="jitter (local) above 1.04 %", value=round(jitter, 5)),
    ]
    evidence += [
        Evidence(kind="pause", detail="silent pause ≥ 250 ms", start=round(p.start, 2), end=round(p.end, 2))
        for p in clip.smap.pauses[:20]
    ]
    evidence += [
        Evidence(
            kind="filled_pause", detail=f.source, start=round(f.start, 2), end=round(f.end, 2), text=f.token
        )
        for f in clip.filled[:20]
    ]
    return component("voice", "stress_markers", round(1 - stress, 3), evidence)


def _congruence_component(seconds: list[Segment], segs: list[TranscriptSegment]) -> TrustComponent | None:
    """Agreement of vocal and lexical arousal over the transcript segments (1 − 2 × mean |difference|)."""
    diffs, evidence = [], []
    for s in segs:
        vocal = [x.vad.arousal for x in seconds if x.vad and x.start < s.end and s.start < x.end]
        if s.vad is None or not vocal:
            continue
        d = abs(float(np.mean(vocal)) - s.vad.arousal)
        diffs.append(d)
        if d > 0.25:
            evidence.append(
                Evidence(
                    kind="arousal_mismatch",
                    detail="vocal vs lexical arousal",
                    start=s.start,
                    end=s.end,
                    text=s.text[:80],
                    value=round(d, 3),
                )
            )
    if not diffs:
        return None
    return component("voice", "signal_congruence", round(agreement(diffs), 3), evidence[:20])


def _trust(
    clip: _Clip,
    clip_vad: VAD | None,
    seconds: list[Segment],
    segs: list[TranscriptSegment],
    hscore: float,
    measures: dict[str, Any],
    conf: dict[str, Any],
) -> Trust:
    """The voice Trust (``trust.compose``); no score without speech."""
    if "no_speech" in clip.flags:
        return unscored()
    components = [
        c
        for c in (
            _congruence_component(seconds, segs),
            _stress_component(clip, clip_vad, hscore, measures),
            _quality_component(clip, measures),
        )
        if c is not None
    ]
    return compose("voice", components, support=voice_support(float(conf.get("arousal", 0.3))))


def _voice_dict(
    clip: _Clip,
    measures: dict[str, Any],
    pauses: list[Any],
    filled: list[FilledPause],
    hi: float,
    hscore: float,
    cues: dict[str, dict[str, float | None]],
    conf: dict[str, Any],
    timings: dict[str, float],
    baseline: VoiceBaseline | None,
) -> dict[str, Any]:
    def r(v: Any, n: int = 4) -> Any:
        return round(v, n) if isinstance(v, float) else v

    total = sum(p.duration for p in pauses)
    speech_frames = clip.smap.speech
    all_cues = cues_for(clip.track, speech_frames, clip.nuclei, clip.spacing) if speech_frames.any() else {}
    voice: dict[str, Any] = {k: r(v) for k, v in measures.items()}
    voice.update(
        pauses={
            "count": len(pauses),
            "total_s": r(total, 3),
            "mean_s": r(total / len(pauses), 3) if pauses else None,
            "min_pause_s": 0.25,
            "items": [{"start": r(p.start, 3), "end": r(p.end, 3)} for p in pauses],
        },
        filled_pauses={
            "count": len(filled),
            "items": [
                {"start": r(f.start, 3), "end": r(f.end, 3), "source": f.source, "token": f.token}
                for f in filled
            ],
        },
        hesitation_index=r(hi, 2),
        hesitation_score=r(hscore, 3),
        hesitation_formula=HESITATION_FORMULA,
        snr_db=r(snr_db(clip.track, clip.smap), 1),
        clipping_ratio=r(clip.track.clipped / clip.track.samples, 6) if clip.track.samples else 0.0,
        cues={k: r(v) for k, v in all_cues.items()},
        speaker_cues={s: {k: r(v) for k, v in c.items()} for s, c in cues.items()},
        vad_confidence=conf,
        vad_sources={
            "arousal": (
                "F0 level and variability, intensity (speaker baseline only; else the alpha ratio carries its"
                " weight), alpha ratio, rate; per second against the speaker's own median/MAD in a recording"
            ),
            "dominance": "intensity/vocal effort (+), F0 level (−), rate (−), talk share (+)",
            "valence": "lexical valence of the transcript (text engine) when present, else neutral 0.5",
        },
        baseline="speaker" if baseline is not None and len(cues) == 1 else "generic",
        asr={
            "words": len(clip.words),
            "mean_confidence": r(float(np.mean([w.confidence for w in clip.words])), 3)
            if clip.words
            else None,
        },
        timings={k: r(v, 3) for k, v in timings.items()},
    )
    return voice
