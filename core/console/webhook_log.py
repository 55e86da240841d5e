"""The Webhooks page's queries: an endpoint's deliveries with their request, and the failed deliveries a
recovery sends again (dead since a time and not replayed yet)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from core.delivery.models import ENDPOINT, WebhookDelivery, WebhookEndpoint
from core.storage.db import Database

__all__ = ["DeliveryView", "delivery_view", "recoverable"]


@dataclass(frozen=True)
class DeliveryView:
    """One delivery as the log shows it: what was sent (headers and body) and what came back."""

    row: WebhookDelivery
    request_headers: dict[str, str]
    request_body: str

    @property
    def response(self) -> str:
        """The receiver's last answer in words."""
        if self.row.last_status_code is None and not self.row.last_error:
            return "delivered" if self.row.status == "delivered" else "no answer yet"
        code = f"HTTP {self.row.last_status_code}" if self.row.last_status_code else "no HTTP answer"
        return f"{code}: {self.row.last_error}" if self.row.last_error else code


def delivery_view(row: WebhookDelivery) -> DeliveryView:
    """The request a delivery sends (Standard Webhooks headers; the signature is made per attempt)."""
    headers = {
        "content-type": "application/json",
        "webhook-id": row.message_id,
        "webhook-timestamp": "<the attempt's time>",
        "webhook-signature": "v1,<HMAC-SHA256 of id.timestamp.body with the endpoint's secret>",
    }
    return DeliveryView(row, headers, json.dumps(row.payload, indent=2, sort_keys=True))


def recoverable(db: Database, tenant_id: str, since: datetime, endpoint_id: str | None = None) -> list[str]:
    """Ids of the tenant's dead deliveries to its registered endpoints created at or after ``since`` that
    no later delivery replays yet, oldest first."""
    replay = aliased(WebhookDelivery)
    replayed = select(replay.replay_of).where(replay.replay_of.is_not(None), replay.tenant_id == tenant_id)
    q = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.tenant_id == tenant_id,
            WebhookDelivery.status == "dead",
            WebhookDelivery.created_at >= since,
            WebhookEndpoint.kind == ENDPOINT,
            WebhookDelivery.id.not_in(replayed),
        )
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
    )
    if endpoint_id:
        q = q.where(WebhookDelivery.endpoint_id == endpoint_id)
    with db.session() as s:
        return list(s.scalars(q))
