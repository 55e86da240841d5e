"""Video engine: a talking-head MP4 built in setup from a face photo and a speech WAV (or a tone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import MediaError
from engine.video import analyse_video

from .media_factory import SPEECH_WAV, talking_head


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wav = SPEECH_WAV if SPEECH_WAV.is_file() else None
    return talking_head(tmp_path_factory.mktemp("video") / "talk.mp4", seconds=5.0, wav=wav)


@pytest.fixture(scope="module")
def report(clip: Path):  # type: ignore[no-untyped-def]
    return analyse_video(clip, fps=5.0, asr=False)


def test_every_second_has_face_data_and_fused_vad(report) -> None:  # type: ignore[no-untyped-def]
    assert report.modality == "video"
    face_secs = [s for s in report.segments if s.face_present]
    assert len(face_secs) >= 5
    for s in face_secs:
        assert s.au and s.face_vad is not None and s.vad is not None and s.face_id == "face_1"
        assert s.credibility is not None and 0 <= s.credibility <= 100
    assert set(report.au_map["AU12"]) == {"mean", "max", "active_share"}


def test_smiling_seconds_read_higher_au12_and_valence(report) -> None:  # type: ignore[no-untyped-def]
    # the clip alternates neutral (even seconds) and smiling (odd seconds) photos
    secs = [s for s in report.segments if s.face_present][:4]
    neutral, smiling = secs[0::2], secs[1::2]
    assert min(s.au["AU12"] for s in smiling) > max(s.au["AU12"] for s in neutral)
    assert min(s.face_vad.valence for s in smiling) > max(s.face_vad.valence for s in neutral)


def test_audio_track_feeds_voice_and_the_trust_score(report) -> None:  # type: ignore[no-untyped-def]
    assert "voice" in report.modalities and "face" in report.modalities
    assert any(s.voice_vad is not None for s in report.segments)
    assert report.trust_score is not None and 0 <= report.trust_score <= 100
    names = {c.name for c in report.trust.components}
    assert {"signal_congruence", "signal_quality"} <= names


def test_video_without_audio_is_analysed_with_a_flag(tmp_path: Path) -> None:
    p = talking_head(tmp_path / "mute.mp4", seconds=2.0, audio=False)
    rep = analyse_video(p, asr=False)
    assert "no_audio" in rep.quality.flags and any(s.face_present for s in rep.segments)


def test_corrupt_truncated_and_audio_only_files_have_codes(tmp_path: Path, clip: Path) -> None:
    data = clip.read_bytes()
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(data[: len(data) // 3])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(data[:32] + bytes(range(256)) * 40)
    codes = {}
    for name, p in {"truncated": truncated, "garbage": garbage, "audio_only": SPEECH_WAV}.items():
        if not p.is_file():
            continue
        with pytest.raises(MediaError) as err:
            analyse_video(p, asr=False)
        codes[name] = err.value.code
    assert codes["truncated"] == "media_corrupt" and codes["garbage"] == "media_corrupt"
    if "audio_only" in codes:
        assert codes["audio_only"] == "media_no_video"


def test_no_face_video_is_a_result_with_no_face(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (300, 300), (128, 128, 128)).save(blank)
    p = talking_head(tmp_path / "noface.mp4", seconds=2.0, photos=(blank,), audio=False)
    rep = analyse_video(p, asr=False)
    assert "no_face" in rep.quality.flags and not any(s.face_present for s in rep.segments)
