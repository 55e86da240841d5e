"""Slack daily summaries end to end: counted from the tenant's analyses, delivered once per period through
the delivery log (also across a restart and a replay), on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from core.delivery.models import WebhookDelivery
from core.delivery.summaries import Summaries
from core.storage.models import utcnow
from tests.core.connections.conftest import Hub

RULES = [{"channel": "C0ALERTS", "summary": "daily", "alerts": False, "summary_lowest": 2}]
TEXTS = [
    "I am not sure the price works for us, maybe, I guess.",
    "We are delighted and certain: we will sign today.",
    "Honestly I do not know whether this is right for us.",
]


def _delivered(hub: Hub, delivery_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = hub.client.get("/v1/webhooks/deliveries", headers=hub.headers()).json()["data"]
        found = next((d for d in rows if d["id"] == delivery_id), None)
        if found is not None and found["status"] in ("delivered", "dead"):
            return dict(found)
        time.sleep(0.05)
    raise AssertionError("the summary delivery did not finish")


def _summaries_post_one_message_per_period(hub: Hub) -> None:
    connection_id = hub.connect()["connection_id"]
    url = f"/v1/connections/{connection_id}/mapping"
    bad = hub.client.put(url, json={"timezone": "Mars/Olympus_Mons"}, headers=hub.headers())
    assert bad.status_code == 422, bad.text
    body = {"rules": RULES, "timezone": "UTC"}
    r = hub.client.put(f"/v1/connections/{connection_id}/mapping", json=body, headers=hub.headers())
    assert r.status_code == 200, r.text
    hub.runtime.queue.start_worker()
    results = [hub.backend.wait(hub.backend.submit(t)) for t in TEXTS]
    scores = sorted((res["trust_score"], res["job_id"]) for res in results if res["trust_score"] is not None)
    tomorrow = utcnow() + timedelta(days=1)  # today's period has ended
    summaries = Summaries(hub.runtime.deliveries.sinks, hub.runtime.deliveries.send, clock=lambda: tomorrow)
    [delivery_id] = summaries.add_due()
    assert summaries.add_due() == []
    restarted = Summaries(hub.runtime.deliveries.sinks, hub.runtime.deliveries.send, clock=lambda: tomorrow)
    assert restarted.add_due() == []
    with hub.runtime.db.session() as s:
        row = s.get(WebhookDelivery, delivery_id)
        assert row is not None
        data = row.payload["data"]
    assert data["count"] == 3 and data["target"] == "C0ALERTS"
    assert data["mean_trust_score"] == pytest.approx(sum(v for v, _ in scores) / len(scores))
    assert [i["job_id"] for i in data["lowest"]] == [j for _, j in scores[:2]]
    assert data["lowest"][0]["link"] == f"http://testserver/v1/result/{scores[0][1]}"
    done = _delivered(hub, delivery_id)
    assert done["status"] == "delivered", done["last_error"]
    [posted] = hub.emulator.messages("C0ALERTS")  # the analyses' own alerts are off for this rule
    assert "*Analyses*\\n3" in str(posted["blocks"])
    r = hub.client.post(f"/v1/webhooks/deliveries/{delivery_id}/replay", headers=hub.headers())
    assert r.status_code == 202, r.text
    again = _delivered(hub, r.json()["delivery_id"])
    assert again["status"] == "delivered" and len(hub.emulator.messages("C0ALERTS")) == 1


@pytest.mark.parametrize("hub", ["slack"], indirect=True)
def test_a_daily_summary_is_posted_once_on_sqlite(hub: Hub) -> None:
    _summaries_post_one_message_per_period(hub)


@pytest.mark.parametrize("scaled_hub", ["slack"], indirect=True)
def test_a_daily_summary_is_posted_once_on_postgres(scaled_hub: Hub) -> None:
    _summaries_post_one_message_per_period(scaled_hub)
