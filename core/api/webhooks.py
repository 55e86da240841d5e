"""/v1/webhooks: endpoints, secret rotation, the delivery log, the dead-letter list and replay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from core.api.deps import TenantId, TenantRuntime
from core.delivery.models import ENDPOINT, WebhookDelivery, WebhookEndpoint
from core.delivery.queue import DeliveryQueue
from core.delivery.secrets import new_webhook_secret
from core.media.outbound import check_url
from core.sdk.errors import InputError

__all__ = ["router", "check_webhook_url"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
EventType = Literal[
    "analysis.completed", "analysis.failed", "connection.needs_reauth", "analysis.sla_missed"
]  # = EVENT_TYPES
DeliveryStatus = Literal["pending", "sending", "delivered", "dead"]


class EndpointIn(BaseModel):
    """POST /v1/webhooks."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    events: list[EventType] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=500)


class EndpointPatch(BaseModel):
    """PATCH /v1/webhooks/{id}: only the fields given change; ``status: active`` re-enables."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = None
    events: list[EventType] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=500)
    status: Literal["active", "disabled"] | None = None


class EndpointOut(BaseModel):
    """A webhook endpoint (its secret is shown only when created or rotated)."""

    id: str
    url: str
    events: list[str]
    description: str | None
    status: str
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    """201 answer: the endpoint and its signing secret, shown this once."""

    secret: str


class SecretRotated(BaseModel):
    """A new signing secret, shown once; the previous one also signs until ``previous_secret_expires_at``."""

    secret: str
    previous_secret_expires_at: datetime | None


class EndpointList(BaseModel):
    """The tenant's endpoints."""

    data: list[EndpointOut]


class DeliveryOut(BaseModel):
    """One entry of the delivery log."""

    id: str
    endpoint_id: str
    message_id: str = Field(description="The webhook-id header; the same on every retry and replay.")
    event_type: str
    url: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    replay_of: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    """A page of deliveries, newest first."""

    data: list[DeliveryOut]


class ReplayAccepted(BaseModel):
    """202 answer to a replay: the new delivery of the same message."""

    delivery_id: str
    message_id: str


def _deliveries(rt: TenantRuntime) -> DeliveryQueue:
    return rt.deliveries


Deliveries = Annotated[DeliveryQueue, Depends(_deliveries)]  # the tenant's region's (core.api.deps)


def _endpoint_out(e: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=e.id,
        url=e.url or "",
        events=list(e.events or []),
        description=e.description,
        status=e.status,
        disabled_reason=e.disabled_reason,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def _delivery_out(d: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        endpoint_id=d.endpoint_id,
        message_id=d.message_id,
        event_type=d.event_type,
        url=d.url,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        replay_of=d.replay_of,
        created_at=d.created_at,
        delivered_at=d.delivered_at,
    )


def check_webhook_url(value: str, allow_private: bool) -> str:
    """https and a public address, unless ECHODEPTH_ALLOW_PRIVATE_URLS (tests, closed networks); else 422
    ``url_not_allowed``. Also used for the per-job ``webhook_url`` of analyse requests."""
    if urlsplit(value).scheme != "https" and not allow_private:
        raise InputError("url_not_allowed", "webhook URLs must use https", 422)
    check_url(value, allow_private)
    return value


def _checked_url(dq: DeliveryQueue, url: AnyHttpUrl) -> str:
    return check_webhook_url(str(url), dq.settings.allow_private_urls)


@router.post("", status_code=201, response_model=EndpointCreated, responses={401: _PROBLEM, 422: _PROBLEM})
async def create_endpoint(body: EndpointIn, tenant_id: TenantId, dq: Deliveries) -> EndpointCreated:
    """Register an endpoint; the answer carries its signing secret (``whsec_…``), shown this once."""
    url = await run_in_threadpool(_checked_url, dq, body.url)
    secret = new_webhook_secret()
    endpoint = await run_in_threadpool(
        dq.store.create_endpoint, tenant_id, url, list(body.events), body.description, secret, ENDPOINT
    )
    return EndpointCreated(**_endpoint_out(endpoint).model_dump(), secret=secret)


@router.get("", response_model=EndpointList, responses={401: _PROBLEM})
def list_endpoints(tenant_id: TenantId, dq: Deliveries) -> EndpointList:
    """The tenant's endpoints."""
    return EndpointList(data=[_endpoint_out(e) for e in dq.store.list_endpoints(tenant_id)])


@router.get("/deliveries", response_model=DeliveryList, responses={401: _PROBLEM, 422: _PROBLEM})
def list_all_deliveries(
    tenant_id: TenantId,
    dq: Deliveries,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryList:
    """Every delivery of the tenant; ``?status=dead`` is the dead-letter list."""
    rows = dq.store.list_deliveries(tenant_id, None, status, limit)
    return DeliveryList(data=[_delivery_out(d) for d in rows])


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=ReplayAccepted,
    responses={401: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM},
)
def replay_delivery(delivery_id: str, tenant_id: TenantId, dq: Deliveries) -> ReplayAccepted:
    """Send the delivery's message again (same ``webhook-id``), e.g. from the dead-letter list."""
    new_id = dq.store.replay(tenant_id, delivery_id)
    dq.send(new_id)
    return ReplayAccepted(delivery_id=new_id, message_id=dq.store.get_delivery(tenant_id, new_id).message_id)


@router.post("/job-signing-secret", response_model=SecretRotated, responses={401: _PROBLEM})
def rotate_job_signing_secret(tenant_id: TenantId, dq: Deliveries) -> SecretRotated:
    """A new secret for the per-job ``webhook_url`` deliveries of analyse requests, shown once."""
    secret, until = dq.rotate_job_secret(tenant_id)
    return SecretRotated(secret=secret, previous_secret_expires_at=until)


@router.get("/{endpoint_id}", response_model=EndpointOut, responses={401: _PROBLEM, 404: _PROBLEM})
def get_endpoint(endpoint_id: str, tenant_id: TenantId, dq: Deliveries) -> EndpointOut:
    """One endpoint."""
    return _endpoint_out(dq.store.get_endpoint(tenant_id, endpoint_id))


@router.patch(
    "/{endpoint_id}", response_model=EndpointOut, responses={401: _PROBLEM, 404: _PROBLEM, 422: _PROBLEM}
)
def update_endpoint(
    endpoint_id: str, body: EndpointPatch, tenant_id: TenantId, dq: Deliveries
) -> EndpointOut:
    """Change an endpoint's URL, events, description or status."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if body.url is not None:
        changes["url"] = _checked_url(dq, body.url)
    return _endpoint_out(dq.store.update_endpoint(tenant_id, endpoint_id, changes))


@router.delete("/{endpoint_id}", status_code=204, responses={401: _PROBLEM, 404: _PROBLEM})
def delete_endpoint(endpoint_id: str, tenant_id: TenantId, dq: Deliveries) -> Response:
    """Delete an endpoint, its secrets and its delivery log."""
    dq.store.delete_endpoint(tenant_id, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate-secret", response_model=SecretRotated, responses={401: _PROBLEM, 404: _PROBLEM}
)
def rotate_secret(endpoint_id: str, tenant_id: TenantId, dq: Deliveries) -> SecretRotated:
    """A new signing secret, shown once; both sign for ECHODEPTH_WEBHOOK_SECRET_OVERLAP_SECONDS."""
    endpoint = dq.store.get_endpoint(tenant_id, endpoint_id)
    secret = new_webhook_secret()
    until = dq.store.rotate_secret(endpoint, secret, dq.settings.webhook_secret_overlap_seconds)
    return SecretRotated(secret=secret, previous_secret_expires_at=until)


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=DeliveryList,
    responses={401: _PROBLEM, 404: _PROBLEM, 422: _PROBLEM},
)
def list_deliveries(
    endpoint_id: str,
    tenant_id: TenantId,
    dq: Deliveries,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryList:
    """The endpoint's delivery log, newest first."""
    store = dq.store
    store.get_endpoint(tenant_id, endpoint_id)
    return DeliveryList(
        data=[_delivery_out(d) for d in store.list_deliveries(tenant_id, endpoint_id, status, limit)]
    )
