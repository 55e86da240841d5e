"""Who said what through core: a two-person meeting (audio or video) with its vendor transcript and
participants, as a Source files it, comes back with named speakers, e-mails and internal flags; so does
a stream whose client names its participants and who speaks when."""

from __future__ import annotations

import json
import shutil
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from core.jobs.analysis import join_participants
from core.storage.store import MediaItem, NewInput
from engine.report import EngineInfo, Report, SpeakerSummary
from tests.conftest import Backend
from tests.engine.media_factory import FACES, talking_head

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
TWO = AUDIO / "two_speakers.flac"
PEOPLE = [
    {"name": "Alex Rep", "email": "alex.rep@ourco.example", "matched_by": "vendor"},
    {"name": "Jane Buyer (Buyer Corp)", "email": "Jane@Buyer.example", "matched_by": "vendor"},
]


def _meeting_job(b: Backend, media: Path, role: str, vtt: Path, metadata: dict[str, Any]) -> str:
    """A job as a meeting Source files it: the recording and its transcript in the spool, then queued."""
    tenant = b.runtime.store.authenticate(b.key)
    assert tenant is not None
    items = (MediaItem(role=role, filename=media.name), MediaItem(role="transcript", filename=vtt.name))
    job = b.runtime.store.create_job(tenant, "multimodal", NewInput(items=items), metadata, None)
    for index, path in enumerate((media, vtt)):
        dest = b.runtime.spool.path_for(job.id, index)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    b.runtime.queue.enqueue(job.id)
    return job.id


def _by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert body["status"] == "completed", body
    return {s["name"]: s for s in body["speakers"]}


def _assert_named(body: dict[str, Any]) -> None:
    speakers = _by_name(body)
    assert set(speakers) == {"Alex Rep", "Jane Buyer"}
    alex, jane = speakers["Alex Rep"], speakers["Jane Buyer"]
    assert (alex["email"], alex["internal"]) == ("alex.rep@ourco.example", True)
    assert (jane["email"], jane["internal"]) == ("jane@buyer.example", False)
    assert alex["f0_mean_hz"] < jane["f0_mean_hz"]  # the transcript's Alex is the low voice
    for s in (alex, jane):
        assert s["named_by"] == "transcript"
        kinds = {e["kind"]: e for e in s["naming"]}
        assert kinds["name_overlap"]["value"] > 4.0 and kinds["participant_match"]["detail"].startswith(
            "name"
        )
        assert s["vad"] and s["text_vad"] and s["trust"]["components"]
        assert 0 <= s["trust_score"] <= 100 and 0.3 < s["talk_share"] < 0.7


@pytest.mark.parametrize("vendor", ["zoom", "teams"])
def test_audio_meeting_names_speakers_from_its_transcript(
    make_embedded: Callable[..., Backend], vendor: str
) -> None:
    b = make_embedded(own_domains="ourco.example")
    vtt = AUDIO / f"two_speakers.{vendor}.vtt"
    job_id = _meeting_job(b, TWO, "audio", vtt, {"participants": PEOPLE})
    _assert_named(b.wait(job_id, timeout=120))


def test_video_meeting_names_speakers_and_own_domains_come_from_the_job_too(
    make_embedded: Callable[..., Backend], tmp_path: Path
) -> None:
    b = make_embedded()  # no deployment-wide own domains: the job's metadata says which are ours
    video = talking_head(
        tmp_path / "call.mp4",
        seconds=12.4,
        size=(480, 270),
        fps=10,
        photos=(FACES / "london_008_neutral.jpg", FACES / "london_030_neutral.jpg"),
        wav=TWO,
        switch_s=3.0,
    )
    meta = {"participants": PEOPLE, "own_domains": ["ourco.example"]}
    body = b.wait(_meeting_job(b, video, "video", AUDIO / "two_speakers.teams.vtt", meta), timeout=180)
    _assert_named(body)
    assert body["au_map"]  # the face part ran too


def test_one_voice_and_one_participant_is_named_by_the_participant_list(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded(own_domains="ourco.example")
    meta = {"participants": [{"name": "Sam Seller", "email": "sam@ourco.example"}]}
    r = b.client.post(
        "/v1/analyse/audio",
        files={"file": ("one.wav", (AUDIO / "speech_pauses_um.wav").read_bytes(), "audio/wav")},
        data={"metadata": json.dumps(meta)},
        headers=b.headers(),
    )
    assert r.status_code == 202, r.text
    body = b.wait(r.json()["job_id"], timeout=120)
    (only,) = body["speakers"]
    assert (only["name"], only["named_by"], only["email"], only["internal"]) == (
        "Sam Seller",
        "participants",
        "sam@ourco.example",
        True,
    )


def _speaker(sid: str, name: str | None) -> SpeakerSummary:
    return SpeakerSummary(id=sid, talk_time=5, talk_share=0.5, turns=2, name=name)


def test_names_join_participants_by_normalised_name_and_ambiguity_is_reported() -> None:
    report = Report(
        modality="audio",
        engine=EngineInfo(version="t"),
        speakers=[_speaker("S1", "josé  GARCÍA"), _speaker("S2", "Chris"), _speaker("S3", "Garcia José")],
    )
    people = [
        {"name": "Jose Garcia", "email": "jose@buyer.example"},
        {"name": "Chris Ng", "email": "chris@ourco.example"},
        {"name": "Chris Ode", "email": None},
    ]
    out = {s.id: s for s in join_participants(report, people, ["ourco.example"]).speakers}
    assert (out["S1"].email, out["S1"].internal, out["S1"].naming[-1].detail) == (
        "jose@buyer.example",
        False,
        "name",
    )
    assert out["S3"].naming[-1].detail == "name_reordered" and out["S3"].email == "jose@buyer.example"
    assert (out["S2"].email, out["S2"].internal, out["S2"].naming[-1].detail) == (
        None,
        None,
        "ambiguous_name",
    )
    assert out["S2"].name == "Chris"  # the transcript's name stays; only the e-mail is unknown


def _pcm(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        res = av.AudioResampler(format="s16", layout="mono", rate=16_000)
        return np.concatenate(
            [f.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for f in res.resample(fr)]
        )


@pytest.mark.parametrize("domains_from", ["deployment", "tenant"])
def test_stream_names_speakers_from_its_participants_and_speaker_messages(
    make_embedded: Callable[..., Backend], domains_from: str
) -> None:
    if domains_from == "deployment":
        b = make_embedded(own_domains="ourco.example", stream_asr=False)
    else:  # the tenant's own domains (``echodepth tenants set --own-domains``) tell the rep apart too
        b = make_embedded(stream_asr=False)
        b.runtime.policies.set_own_domains(b.runtime.store.ensure_tenant("acme"), ["ourco.example"], "test")
    people = [
        {"name": "Alex Rep", "email": "alex.rep@ourco.example"},
        {"name": "Jane Buyer", "email": "jane@buyer.example"},
    ]
    turns = json.loads((AUDIO / "two_speakers.json").read_text())["segments"]
    names = {"speaker_a": "Alex Rep", "speaker_b": "Jane Buyer"}
    pcm = _pcm(TWO)
    with b.client.websocket_connect("/v1/stream/video", headers=b.headers()) as ws:
        ws.send_text(json.dumps({"type": "start", "fps": 5, "audio": True, "participants": people}))
        for k in range(0, pcm.size, 1600):  # 100 ms chunks, timestamps from 0 ms
            ws.send_bytes(b"\x02" + struct.pack(">Q", k // 16) + pcm[k : k + 1600].tobytes())
        for t in turns:
            if t["kind"] in names:
                span = {
                    "name": names[t["kind"]],
                    "start": int(t["start"] * 1000),
                    "end": int(t["end"] * 1000),
                }
                ws.send_text(json.dumps({"type": "speaker", **span}))
        ws.send_text(json.dumps({"type": "end"}))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            msg = ws.receive_json()
            if msg["type"] == "summary":
                break
    r = b.client.get(f"/v1/result/{msg['job_id']}", headers=b.headers())
    body = r.json()
    speakers = _by_name(body)
    assert set(speakers) == {"Alex Rep", "Jane Buyer"}
    assert (speakers["Alex Rep"]["internal"], speakers["Jane Buyer"]["internal"]) == (True, False)
    assert speakers["Jane Buyer"]["email"] == "jane@buyer.example"
    assert body["metadata"]["participants"][0]["name"] == "Alex Rep"  # CRM sinks read them there
    assert body["modalities"]["stream"]["speaker_messages"] == 4
