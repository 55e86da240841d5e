"""Alert rules of a Sink connection as the console edits them (analysis type, Trust Score threshold,
channel), and the test alert: a made-up analysis the rule matches, delivered through the connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import FormData

from core.connections import Connection
from core.delivery.events import envelope
from core.delivery.store import NewEvent
from core.runtime import Runtime
from core.sdk.errors import InputError

__all__ = ["parse_rules", "queue_test_alert", "TEST_TITLE"]

TEST_TITLE = "EchoDepth test alert"


def _threshold(text: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise InputError("invalid_input", "the Trust Score threshold is a number from 0 to 100", 422) from exc
    if not 0 <= value <= 100:
        raise InputError("invalid_input", "the Trust Score threshold is a number from 0 to 100", 422)
    return value


def _rule(
    form: FormData, prefix: str, base: dict[str, Any], modalities: Sequence[str]
) -> dict[str, Any] | None:
    channel = str(form.get(f"{prefix}channel", "")).strip()
    if not channel:
        return None
    modality = str(form.get(f"{prefix}modality", ""))
    if modality and modality not in modalities:
        raise InputError("invalid_input", f"unknown analysis type {modality!r}", 422)
    rule = {**base, "channel": channel, "modalities": [modality] if modality else []}
    rule["trust_below"] = _threshold(str(form.get(f"{prefix}trust_below", "")))
    return {k: v for k, v in rule.items() if v is not None}


def parse_rules(
    form: FormData, stored: list[dict[str, Any]], modalities: Sequence[str]
) -> list[dict[str, Any]]:
    """The rules the form describes: each shown rule (``rule<i>.…``; emptied channel or ``rule<i>.remove``
    drops it) and a new one (``new.…``); the stored rules' other settings are kept."""
    rules: list[dict[str, Any]] = []
    for i, base in enumerate(stored):
        if form.get(f"rule{i}.remove"):
            continue
        found = _rule(form, f"rule{i}.", base, modalities)
        if found is not None:
            rules.append(found)
    new = _rule(form, "new.", {}, modalities)
    return rules + ([new] if new is not None else [])


def _matching(rule: dict[str, Any]) -> dict[str, Any]:
    """A made-up analysis the rule's conditions let through."""
    below, above = rule.get("trust_below"), rule.get("trust_above")
    score = 50.0 if below is None else max(0.0, float(below) - 5)
    if above is not None and score <= float(above):
        score = min(100.0, float(above) + 5)
    modalities = rule.get("modalities") or ["text"]
    return {
        "job_id": f"test-{uuid.uuid4().hex[:12]}",
        "status": "completed",
        "modality": modalities[0],
        "trust_score": score,
        "vad": {"valence": 0.5, "arousal": 0.5, "dominance": 0.5},
        "emotions": {"neutral": 1.0},
        "metadata": {"title": TEST_TITLE, "test": True},
    }


def queue_test_alert(rt: Runtime, conn: Connection, rule: dict[str, Any]) -> str:
    """Queue one delivery of a test analysis to the connection (logged and retried like any); its id."""
    event_type = (rule.get("events") or ["analysis.completed"])[0]
    targets = [t for t in rt.deliveries.sinks.targets(conn.tenant_id, event_type) if t[0] == conn.id]
    if not targets:
        raise InputError("not_active", "the connection is not active or takes no such events", 409)
    event = NewEvent(conn.tenant_id, event_type, envelope(event_type, _matching(rule)))
    [delivery_id] = rt.deliveries.store.add_deliveries(event, targets)
    rt.deliveries.send(delivery_id)
    return delivery_id
