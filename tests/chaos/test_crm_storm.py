"""HubSpot in a storm, its token revoked mid-batch: 429s are retried, the connection turns ``needs_reauth``
once (one ``connection.needs_reauth`` webhook), the deliveries it could not make are dead letters listed by
the API, and after a reconnect their replays write each timeline event exactly once."""

from __future__ import annotations

import time
import uuid
from collections import Counter

from tests.chaos.cluster import Cluster
from tests.chaos.report import Row, record, size
from tests.chaos.services import wait_until
from tests.emulators import crm
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.webhook_receiver import WebhookReceiver

EMAIL = "ana@acme.io"


def _deliveries(cluster: Cluster, tenant_id: str) -> list[tuple[str, str, str]]:
    """(id, message id, status) of the tenant's analysis deliveries (the HubSpot sink's)."""
    rows = cluster.sql(
        "SELECT id, message_id, status FROM webhook_deliveries WHERE tenant_id = %s AND event_type = %s",
        tenant_id,
        "analysis.completed",
    )
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def _settled(cluster: Cluster, tenant_id: str, n: int) -> bool:
    rows = _deliveries(cluster, tenant_id)
    return len(rows) == n and all(status in ("delivered", "dead") for _, _, status in rows)


def _events_per_message(hubspot: HubSpotEmulator, message_ids: set[str]) -> Counter[str]:
    """Timeline events written per delivery message (event ids are ``<webhook-id>-<contact id>``)."""
    return Counter(m for event_id in list(hubspot.timeline) for m in message_ids if event_id.startswith(m))


def test_hubspot_storm_and_a_token_revoked_mid_batch_end_with_one_event_per_job(
    deployment: Cluster, hubspot: HubSpotEmulator, receiver: WebhookReceiver
) -> None:
    name, n = f"crm-{uuid.uuid4().hex[:8]}", int(size(15, 100))
    key = deployment.new_key(name)
    deployment.subscribe(key, receiver, ["connection.needs_reauth"])
    if not any(c.get("email") == EMAIL for c in hubspot.objects["contacts"].values()):
        hubspot.add("contacts", email=EMAIL)
    before = len(hubspot.timeline)
    with deployment.runtime() as rt:
        tenant = rt.store.ensure_tenant(name)
        crm.connect(rt, tenant, hubspot)
        jobs = crm.add_analyses(rt, tenant, [[EMAIL]] * n)
        hubspot.api_throttle_next = 4  # a 429 storm first
        crm.fan_out(rt, jobs)
    wait_until(lambda: len(hubspot.timeline) > before, 60, "the first timeline event")
    hubspot.forget_grants()  # the user removed the app mid-run: refreshes fail, access tokens die
    hubspot.expire_access()
    revoked = time.monotonic()
    wait_until(lambda: _settled(deployment, tenant, n), 120, "every delivery delivered or dead")
    wait_until(lambda: receiver.accepted, 30, "the connection.needs_reauth webhook")
    dead = [d for d in _deliveries(deployment, tenant) if d[2] == "dead"]
    listed = deployment.request(
        "GET", "/v1/webhooks/deliveries", key, params={"status": "dead", "limit": 100}
    )
    with deployment.runtime() as rt:
        crm.connect(rt, tenant, hubspot)  # the user connects again: new grant, connection active
    for delivery_id, _, _ in dead:
        r = deployment.request("POST", f"/v1/webhooks/deliveries/{delivery_id}/replay", key)
        assert r.status_code == 202, r.text
    messages = {m for _, m, _ in _deliveries(deployment, tenant)}
    recovery = None
    try:
        wait_until(lambda: len(_events_per_message(hubspot, messages)) == n, 120, "every job's event")
        recovery = time.monotonic() - revoked
    finally:
        time.sleep(1)
        per_message = _events_per_message(hubspot, messages)
        reauth = [p for p in receiver.accepted.values() if p["type"] == "connection.needs_reauth"]
        shown = len(listed.json()["data"])
        note = f"dead letters {len(dead)} (listed {shown}), replayed; needs_reauth webhooks {len(reauth)}"
        lost, dup = n - len(per_message), sum(c - 1 for c in per_message.values())
        record(Row("HubSpot 429 storm, token revoked mid-batch", n, lost, dup, 0, recovery, note))
    assert dead, "the revocation came after every delivery: nothing was tested"
    assert {d["id"] for d in listed.json()["data"]} >= {d[0] for d in dead}
    assert len(reauth) == 1, receiver.accepted
    assert lost == 0 and dup == 0, per_message
