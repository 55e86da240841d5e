"""CRM delivery fixtures shared by tests and ``bench/crm_sync.py``: vendor connections stored straight in a
runtime (no browser walk), and finished analyses whose events wait in the outbox, as a job's end leaves them.
"""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from config import CONFIG_DIR
from core.connections.oauth import TokenSet
from core.delivery.sinks import SinkSettingsIn
from core.runtime import Runtime
from core.storage.models import Job, Result, utcnow
from core.storage.outbox import OutboxEvent
from tests.emulators import hubspot, salesforce, slack
from tests.emulators.oauth import OAuthEmulator

__all__ = ["TEMPLATE_ID", "providers_dir", "connect", "add_analyses", "fan_out"]

TEMPLATE_ID = "1001298"  # the HubSpot timeline event template the connection is set up with
_ACCOUNTS = {"salesforce": salesforce.ORG_ID, "hubspot": str(hubspot.HUB_ID), "slack": slack.TEAM_ID}


def providers_dir(directory: Path, emulators: Sequence[OAuthEmulator]) -> Path:
    """Every spec of config/providers, those of ``emulators`` pointed at them (a worker loads them all)."""
    directory.mkdir(parents=True, exist_ok=True)
    for spec in (CONFIG_DIR / "providers").glob("*.yaml"):
        shutil.copy(spec, directory / spec.name)
    for emulator in emulators:
        emulator.write_spec(directory)
    return directory


def connect(rt: Runtime, tenant_id: str, emulator: OAuthEmulator, **settings: Any) -> str:
    """An active connection of the tenant to ``emulator`` with a live token; returns its id."""
    access, refresh = emulator.mint()
    ttl = emulator.state.expires_in
    tokens = TokenSet(access, refresh, utcnow() + timedelta(seconds=ttl) if ttl else None, [])
    account = {"instance_url": f"{emulator.base}/instance"} if emulator.key == "salesforce" else {}
    conn = rt.connections.tokens.store.save(tenant_id, emulator.key, _ACCOUNTS[emulator.key], account, tokens)
    if emulator.key == "hubspot":
        settings.setdefault("event_template_id", TEMPLATE_ID)
    if settings:
        rt.deliveries.sinks.write(tenant_id, conn.id, SinkSettingsIn(**settings))
    return conn.id


def _body(rng: random.Random) -> dict[str, Any]:
    """An analysis as the engine reports it (the fields CRM mappings read)."""
    return {
        "trust_score": round(rng.uniform(5, 95), 2),
        "vad": {"valence": rng.uniform(0, 1), "arousal": rng.uniform(0, 1), "dominance": rng.uniform(0, 1)},
        "emotions": {"joy": rng.random(), "anger": rng.random(), "neutral": rng.random()},
        "credibility": [rng.random() for _ in range(8)],
    }


def add_analyses(
    rt: Runtime, tenant_id: str, participants: Sequence[Sequence[str]], seed: int = 7
) -> list[str]:
    """One completed text job per participant list, with its result and its ``analysis.completed`` event in
    the outbox (committed together, as a job's end does); returns the job ids."""
    rng = random.Random(seed)
    ids: list[str] = []
    with rt.db.session() as s:
        for n, emails in enumerate(participants):
            job_id, now = str(uuid.uuid4()), utcnow()
            metadata = {"crm": {"emails": list(emails)}, "title": f"Call {n}", "duration_seconds": 600}
            s.add(
                Job(
                    id=job_id,
                    tenant_id=tenant_id,
                    modality="text",
                    status="completed",
                    created_at=now,
                    completed_at=now,
                    attempts=1,
                    metadata_=metadata,
                )
            )
            s.add(Result(job_id=job_id, schema_version="1", body=_body(rng), created_at=now))
            s.add(
                OutboxEvent(
                    id=str(uuid.uuid4()),
                    tenant_id=tenant_id,
                    event_type="analysis.completed",
                    job_id=job_id,
                    created_at=now,
                )
            )
            ids.append(job_id)
            if len(ids) % 500 == 0:
                s.commit()
        s.commit()
    return ids


def fan_out(rt: Runtime, job_ids: Sequence[str]) -> int:
    """Fan out each job's event as the job queue does when a job ends; returns the deliveries made."""
    made = 0
    for job_id in job_ids:
        for outbox_id in rt.deliveries.store.outbox(job_id=job_id):
            made += len(rt.deliveries.fan_out(outbox_id))
    return made
