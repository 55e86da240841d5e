"""Face engine behaviour on committed London-set fixtures and on generated bad images."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import MediaError
from engine.face import AU_KEYS, MAX_IMAGES, analyse_image, analyse_images

FACES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


@pytest.fixture(scope="module")
def pair() -> dict[str, object]:
    rep = analyse_images(
        [FACES / "london_030_neutral.jpg", FACES / "london_030_smiling.jpg"], ["n.jpg", "s.jpg"]
    )
    return {"neutral": rep.images[0], "smiling": rep.images[1], "report": rep}


def test_smiling_photo_has_higher_au12_and_valence(pair: dict) -> None:
    n, s = pair["neutral"], pair["smiling"]
    assert s["au_map"]["AU12"]["intensity"] > n["au_map"]["AU12"]["intensity"] + 0.3
    assert s["au_map"]["AU12"]["presence"] and not n["au_map"]["AU12"]["presence"]
    assert s["vad"]["valence"] > n["vad"]["valence"] + 0.1
    assert max(s["emotions"], key=s["emotions"].get) == "happiness"


def test_a_faint_closed_mouth_smile_still_raises_au12_and_valence() -> None:
    rep = analyse_images([FACES / "london_138_neutral.jpg", FACES / "london_138_smiling.jpg"])
    n, s = rep.images[0], rep.images[1]
    assert 0 < n["au_map"]["AU12"]["intensity"] < s["au_map"]["AU12"]["intensity"]  # no dead zone at 0
    assert not s["au_map"]["AU12"]["presence"]  # faint: an intensity, but under the presence threshold
    assert s["vad"]["valence"] > n["vad"]["valence"]


def test_a_neutral_photo_reads_near_the_valence_midpoint(pair: dict) -> None:
    assert abs(pair["neutral"]["vad"]["valence"] - 0.5) < 0.1


def test_one_image_reports_every_au_with_intensity_and_presence() -> None:
    rep = analyse_image(FACES / "london_008_smiling.jpg")
    assert rep.modality == "image" and rep.vad is not None
    assert set(rep.au_map) == set(AU_KEYS)
    assert all(0 <= v["intensity"] <= 1 and isinstance(v["presence"], bool) for v in rep.au_map.values())
    assert rep.face["head_pose"] is not None and abs(rep.face["head_pose"]["yaw"]) < 20
    assert len(rep.faces) == 1 and rep.faces[0]["primary"]


def test_several_images_give_per_image_entries_and_a_summary(pair: dict) -> None:
    rep = pair["report"]
    assert [e["filename"] for e in rep.images] == ["n.jpg", "s.jpg"]
    assert set(rep.au_map["AU12"]) == {"mean", "max", "active_share"}
    assert rep.vad is not None


def test_blank_image_is_a_no_face_result_not_an_error(tmp_path: Path) -> None:
    p = tmp_path / "wall.png"
    Image.new("RGB", (400, 300), (200, 190, 180)).save(p)
    rep = analyse_image(p)
    assert "no_face" in rep.quality.flags and rep.vad is None and rep.au_map == {}


def test_cmyk_jpeg_is_converted_and_analysed(tmp_path: Path) -> None:
    p = tmp_path / "cmyk.jpg"
    Image.open(FACES / "london_008_smiling.jpg").convert("CMYK").save(p)
    assert Image.open(p).mode == "CMYK"
    rep = analyse_image(p)
    assert "no_face" not in rep.quality.flags and rep.au_map["AU12"]["presence"]


def test_animated_gif_uses_its_first_frame(tmp_path: Path) -> None:
    p = tmp_path / "anim.gif"
    face = Image.open(FACES / "london_008_neutral.jpg").convert("RGB")
    blank = Image.new("RGB", face.size, (0, 0, 0))
    face.save(p, save_all=True, append_images=[blank, blank], duration=100)
    rep = analyse_image(p)
    assert "animated_first_frame" in rep.quality.flags and "no_face" not in rep.quality.flags


def test_8k_image_is_downscaled_and_still_finds_the_face(tmp_path: Path) -> None:
    p = tmp_path / "8k.jpg"
    canvas = Image.new("RGB", (7680, 4320), (120, 120, 120))
    canvas.paste(Image.open(FACES / "london_030_smiling.jpg").resize((2400, 2400)), (2600, 900))
    canvas.save(p, quality=70)
    rep = analyse_image(p)
    assert "downscaled" in rep.quality.flags and rep.face["image_size"] == [7680, 4320]
    assert "no_face" not in rep.quality.flags


def _png_header_only(path: Path, w: int, h: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00" * 1000)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    p = tmp_path / "bomb.png"
    _png_header_only(p, 30_000, 30_000)
    with pytest.raises(MediaError) as err:
        analyse_image(p)
    assert err.value.code == "image_too_large"


def test_truncated_and_non_image_files_have_their_codes(tmp_path: Path) -> None:
    cut = tmp_path / "cut.jpg"
    cut.write_bytes((FACES / "london_008_neutral.jpg").read_bytes()[:3000])
    text = tmp_path / "note.jpg"
    text.write_text("not an image at all")
    codes = []
    for p in (cut, text):
        with pytest.raises(MediaError) as err:
            analyse_image(p)
        codes.append(err.value.code)
    assert codes == ["image_corrupt", "media_not_image"]


def test_too_many_images_is_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as err:
        analyse_images([tmp_path / f"{i}.jpg" for i in range(MAX_IMAGES + 1)])
    assert err.value.code == "too_many_images"


def test_two_faces_in_one_frame_are_reported_separately(tmp_path: Path) -> None:
    p = tmp_path / "gallery.jpg"
    canvas = Image.new("RGB", (1200, 600), (60, 60, 60))
    canvas.paste(Image.open(FACES / "london_030_neutral.jpg").resize((560, 560)), (10, 20))
    canvas.paste(Image.open(FACES / "london_008_smiling.jpg").resize((500, 500)), (660, 50))
    canvas.save(p)
    rep = analyse_image(p)
    assert len(rep.faces) == 2 and "multiple_faces" in rep.quality.flags
    assert {f["id"] for f in rep.faces} == {"face_1", "face_2"}
    smiling = max(rep.faces, key=lambda f: f["box"][0])
    neutral = min(rep.faces, key=lambda f: f["box"][0])
    assert smiling["au_map"]["AU12"]["intensity"] > neutral["au_map"]["AU12"]["intensity"]
    assert np.isclose(sum(rep.faces[0]["emotions"].values()), 1.0, atol=1e-3)
