"""The EU AI Act Art. 5(1)(f) guard: eu tenants with workplace or education purposes cannot analyse."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ECHODEPTH_BIN, Backend, settings_env

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WAV = FIXTURES / "audio" / "speech_pauses_um.wav"
JPEG = FIXTURES / "faces" / "london_030_smiling.jpg"


def _analyse_requests() -> list[tuple[str, dict[str, Any]]]:
    """One request per analyse route (none of them needs to reach the engine)."""
    return [
        ("text", {"json": {"text": "We agreed the terms today."}}),
        ("audio", {"files": [("file", ("a.wav", WAV.read_bytes(), "audio/wav"))]}),
        ("video", {"json": {"url": "https://example.com/interview.mp4"}}),
        ("image", {"files": [("file", ("s.jpg", JPEG.read_bytes(), "image/jpeg"))]}),
        ("multimodal", {"data": {"text": "Tell me about yourself."},
                        "files": [("image", ("s.jpg", JPEG.read_bytes(), "image/jpeg"))]}),
    ]


def _declare(b: Backend, region: str, purposes: list[str], basis: str | None = None) -> dict[str, Any]:
    rt = b.runtime
    rt.policies.set_region(rt.store.ensure_tenant("acme"), region, "test")
    r = b.client.put(
        "/v1/tenants/me/purposes", json={"purposes": purposes, "consent_basis": basis}, headers=b.headers()
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize(
    "purposes", [["recruitment"], ["sales_calls", "workplace_monitoring"], ["education", "medical", "safety"]]
)
def test_eu_tenant_with_workplace_or_education_purpose_is_refused_on_every_analyse_route(
    make_embedded: Callable[..., Backend], purposes: list[str]
) -> None:
    b = make_embedded()
    assert _declare(b, "eu", purposes)["analyses_permitted"] is False
    for modality, request in _analyse_requests():
        r = b.client.post(f"/v1/analyse/{modality}", headers=b.headers(), **request)
        assert r.status_code == 403, (modality, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["code"] == "purpose_not_permitted"
        assert problem["links"]["docs"].endswith("docs/compliance.md")
        assert "compliance.md" in r.headers["link"]
    assert b.client.get("/v1/jobs", headers=b.headers()).json()["data"] == []
    assert b.runtime.spool.files() == []


def test_the_refusal_needs_a_valid_key_first(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    _declare(b, "eu", ["education"])
    r = b.client.post("/v1/analyse/text", json={"text": "hello"})
    assert r.status_code == 401


def test_eu_medical_tenant_analyses_and_the_result_records_its_basis(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded()
    assert _declare(b, "eu", ["medical", "safety"], "consent")["analyses_permitted"] is True
    body = b.wait(b.submit("I feel calm and well today."))
    assert body["status"] == "completed"
    assert body["compliance"] == {
        "region": "eu",
        "purposes": ["medical", "safety"],
        "consent_basis": "consent",
        "eu_ai_act_guard": "passed",
    }


def test_uk_tenant_with_recruitment_purpose_is_not_refused(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    assert _declare(b, "uk", ["recruitment"], "legitimate_interests")["analyses_permitted"] is True
    body = b.wait(b.submit("I led the migration project."))
    assert body["compliance"]["eu_ai_act_guard"] == "not_applicable"
    assert body["compliance"]["purposes"] == ["recruitment"]


def test_changing_the_declaration_takes_effect_on_the_next_request(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded()
    _declare(b, "eu", ["workplace_monitoring"])
    assert b.client.post("/v1/analyse/text", json={"text": "hi"}, headers=b.headers()).status_code == 403
    _declare(b, "eu", ["customer_support"])
    assert b.client.post("/v1/analyse/text", json={"text": "hi"}, headers=b.headers()).status_code == 202


@pytest.mark.parametrize(
    "body", [{"purposes": ["spying"]}, {"purposes": ["sales_calls"], "consent_basis": "because"}, {}]
)
def test_unknown_purposes_and_bases_are_refused(make_embedded: Callable[..., Backend], body: Any) -> None:
    b = make_embedded()
    r = b.client.put("/v1/tenants/me/purposes", json=body, headers=b.headers())
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input"


def test_operator_sets_region_and_purposes_from_the_cli_and_it_is_audited(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded()
    env = settings_env(b.runtime.settings)
    out = subprocess.run(
        [ECHODEPTH_BIN, "tenants", "set", "--tenant", "acme", "--region", "eu", "--purposes", "education"],
        env=env, capture_output=True, text=True, check=True,
    )
    assert json.loads(out.stdout)["analyses_permitted"] is False
    r = b.client.post("/v1/analyse/text", json={"text": "hi"}, headers=b.headers())
    assert r.status_code == 403 and r.json()["code"] == "purpose_not_permitted"
    shown = subprocess.run(
        [ECHODEPTH_BIN, "tenants", "show", "--tenant", "acme"], env=env, capture_output=True, text=True,
        check=True,
    )
    assert json.loads(shown.stdout)["region"] == "eu"
    audit = b.client.get("/v1/audit", headers=b.headers()).json()["data"]
    actions = {(e["action"], e["actor"]) for e in audit}
    assert {("tenant.region.set", "cli"), ("tenant.purposes.set", "cli")} <= actions


def test_eu_workplace_tenant_cannot_open_a_live_stream(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    _declare(b, "eu", ["workplace_monitoring"])
    r = b.client.post("/v1/stream/tokens", headers=b.headers())
    assert r.status_code == 403 and r.json()["code"] == "purpose_not_permitted"
    with b.client.websocket_connect("/v1/stream/video", headers=b.headers()) as ws:
        message = ws.receive_json()
    assert message["code"] == "purpose_not_permitted"
    assert message["docs"].endswith("docs/compliance.md")
