"""POST /v1/analyse/{video,image,multimodal} end to end on real media, and their bad inputs."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import Backend
from tests.engine.media_factory import talking_head

FACES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
NEUTRAL, SMILING = FACES / "london_030_neutral.jpg", FACES / "london_030_smiling.jpg"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return talking_head(tmp_path_factory.mktemp("clip") / "talk.mp4", seconds=4.0)


def _post_files(b: Backend, modality: str, files: list[tuple[str, tuple[str, bytes, str]]],
                data: dict[str, str] | None = None) -> dict[str, object]:
    r = b.client.post(f"/v1/analyse/{modality}", files=files, data=data or {}, headers=b.headers())
    assert r.status_code == 202, r.text
    return b.wait(r.json()["job_id"], timeout=180)


def test_video_upload_gives_per_second_face_voice_and_fused_values(
    make_embedded: Callable[..., Backend], clip: Path
) -> None:
    b = make_embedded()
    body = _post_files(b, "video", [("file", ("talk.mp4", clip.read_bytes(), "video/mp4"))])
    assert body["status"] == "completed", body
    assert body["modality"] == "video"
    segments = body["segments"]
    assert isinstance(segments, list) and len(segments) >= 4
    assert any(s["face_present"] for s in segments)
    assert all(s["vad"] is not None for s in segments if s["face_present"])
    assert "AU12" in body["au_map"] and {"mean", "max", "active_share"} <= set(body["au_map"]["AU12"])
    assert 0 <= body["trust_score"] <= 100  # type: ignore[operator]
    assert body["trust"]["components"]  # type: ignore[index]
    assert b.runtime.spool.files() == []


def test_one_image_describes_it_at_the_top_level(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    neutral = _post_files(b, "image", [("file", ("n.jpg", NEUTRAL.read_bytes(), "image/jpeg"))])
    smiling = _post_files(b, "image", [("file", ("s.jpg", SMILING.read_bytes(), "image/jpeg"))])
    for body in (neutral, smiling):
        assert body["status"] == "completed", body
        assert body["au_map"]["AU12"]["intensity"] is not None  # type: ignore[index]
    assert smiling["au_map"]["AU12"]["intensity"] > neutral["au_map"]["AU12"]["intensity"]  # type: ignore[index]
    assert smiling["vad"]["valence"] > neutral["vad"]["valence"]  # type: ignore[index]


def test_several_images_are_listed_with_a_summary(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    files = [("file", (p.name, p.read_bytes(), "image/jpeg")) for p in (NEUTRAL, SMILING)]
    body = _post_files(b, "image", files)
    assert body["status"] == "completed"
    images = body["images"]
    assert isinstance(images, list) and [i["index"] for i in images] == [0, 1]
    assert [i["filename"] for i in images] == [NEUTRAL.name, SMILING.name]
    assert body["vad"] is not None
    assert b.runtime.spool.files() == []


def test_multimodal_fuses_video_text_and_image(make_embedded: Callable[..., Backend], clip: Path) -> None:
    b = make_embedded()
    files = [
        ("video", ("talk.mp4", clip.read_bytes(), "video/mp4")),
        ("image", ("s.jpg", SMILING.read_bytes(), "image/jpeg")),
    ]
    body = _post_files(b, "multimodal", files, data={"text": "I am delighted with this offer."})
    assert body["status"] == "completed", body
    assert body["modality"] == "multimodal"
    assert {"text", "images"} <= set(body["modalities"])  # type: ignore[arg-type]
    assert body["vad"] is not None and body["trust"] is not None


def test_multimodal_accepts_text_alone_as_json(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    r = b.client.post("/v1/analyse/multimodal", json={"text": "Great news, thank you so much!"},
                      headers=b.headers())
    assert r.status_code == 202, r.text
    assert b.wait(r.json()["job_id"])["status"] == "completed"


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format="PNG")
    return buf.getvalue()


def test_a_thousand_images_is_413_and_leaves_nothing(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    tiny = _png((8, 8))
    files = [("file", (f"{i}.png", tiny, "image/png")) for i in range(1000)]
    r = b.client.post("/v1/analyse/image", files=files, headers=b.headers())
    assert r.status_code == 413 and r.json()["code"] == "too_many_images"
    urls = {"urls": [f"https://example.com/{i}.jpg" for i in range(1000)]}
    r = b.client.post("/v1/analyse/image", json=urls, headers=b.headers())
    assert r.status_code == 413 and r.json()["code"] == "too_many_images"
    assert b.runtime.spool.files() == []


@pytest.mark.parametrize(
    ("modality", "payload", "code"),
    [
        ("video", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500, "media_corrupt"),
        ("image", b"GIF89a not really", "media_not_image"),
    ],
    ids=["corrupt-video", "corrupt-image"],
)
def test_corrupt_media_fails_with_code_and_empty_spool(
    make_embedded: Callable[..., Backend], modality: str, payload: bytes, code: str
) -> None:
    b = make_embedded()
    body = _post_files(b, modality, [("file", ("x.bin", payload, "application/octet-stream"))])
    assert body["status"] == "failed"
    assert body["error"]["code"] == code, body  # type: ignore[index]
    assert b.runtime.spool.files() == []


def test_no_face_is_a_result_flagged_no_face(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    body = _post_files(b, "image", [("file", ("blank.png", _png((320, 240)), "image/png"))])
    assert body["status"] == "completed"
    assert "no_face" in body["quality"]["flags"]  # type: ignore[index]


def test_decompression_bomb_png_is_refused(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    bomb = _png((12_000, 12_000), "1")  # 144 MP of 1-bit pixels: a small file that decodes huge
    body = _post_files(b, "image", [("file", ("bomb.png", bomb, "image/png"))])
    assert body["status"] == "failed" and body["error"]["code"] == "image_too_large"  # type: ignore[index]
    assert b.runtime.spool.files() == []


def test_audio_only_file_sent_as_video_fails_with_media_no_video(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded()
    wav = (Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "speech_pauses_um.wav").read_bytes()
    body = _post_files(b, "video", [("file", ("a.wav", wav, "audio/wav"))])
    assert body["status"] == "failed" and body["error"]["code"] == "media_no_video"  # type: ignore[index]
