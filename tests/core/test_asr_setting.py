"""``ECHODEPTH_ASR_MODEL`` (Settings.asr_model) picks the recogniser of the process and its workers at
start-up; a recogniser that cannot load stops the start, a name that is not one is refused by the settings."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from core.settings import Settings
from engine.errors import EngineError
from engine.voice import asr
from tests.conftest import Backend


def test_the_setting_becomes_the_recogniser_of_the_process_and_its_workers(
    make_embedded: Callable[..., Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(asr.ASR_MODEL_ENV, "whisper-tiny.en")  # a stale choice from the environment
    make_embedded(asr_model="pocketsphinx")
    assert asr.current_model() == "pocketsphinx"


@pytest.mark.skipif("whisper-tiny.en" in asr.available_models(), reason="the asr extra is installed here")
def test_a_recogniser_that_is_not_installed_stops_the_start(
    make_embedded: Callable[..., Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(asr.ASR_MODEL_ENV, raising=False)
    with pytest.raises(EngineError) as err:
        make_embedded(asr_model="whisper-tiny.en")
    assert err.value.code == "asr_model_missing"


def test_an_unknown_recogniser_is_refused_by_the_settings() -> None:
    with pytest.raises(ValidationError):
        Settings(asr_model="wav2letter")  # type: ignore[arg-type]
