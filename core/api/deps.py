"""Typed FastAPI dependencies: who calls, and which region's runtime serves them. Route files ask for these
and never read ``request.state`` or ``app.state`` to find a runtime.

- ``HomeRuntime``: the app's runtime, of the home region (tenant directory, OAuth server, readiness).
- ``Principal``: the caller's credential, authenticated, scope-checked and charged once per request.
- ``TenantId``: the caller's tenant.
- ``TenantRuntime``: the runtime holding the caller's tenant's data (core.regions); every tenant route
  reads and writes through it, so a tenant's data stays in its region.
- ``TierAllowance``: the tier limits enforced where the job row is written and media is probed.
- ``StateRuntime``: for the OAuth callback (no credential), the region of the tenant that started the flow,
  named by its signed state.
- ``Hooks``: vendor webhooks, which name an account rather than a tenant, for every served region.
- ``Limits``: the app's rate tiers, request limiter and stream slots.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from core.api.auth import Caller, authorise
from core.api.ratelimit import Allowance, RateLimits, rate_limits
from core.connections.state import read_state
from core.runtime import Runtime
from core.sdk.errors import InputError
from core.sources.hooks import SourceHooks
from core.storage.store import Credential

__all__ = [
    "HomeRuntime",
    "CurrentCaller",
    "Principal",
    "TenantId",
    "TenantRuntime",
    "TierAllowance",
    "StateRuntime",
    "Hooks",
    "Limits",
    "home_runtime",
    "current_caller",
]


def home_runtime(connection: HTTPConnection) -> Runtime:
    """The app's runtime (set by ``create_app``), for HTTP requests and WebSockets alike."""
    rt: Runtime = connection.app.state.runtime
    return rt


HomeRuntime = Annotated[Runtime, Depends(home_runtime)]


def current_caller(request: Request, home: HomeRuntime) -> Caller:
    """The authenticated caller (FastAPI computes it once per request, however many dependencies ask)."""
    return authorise(request, home)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def principal(caller: CurrentCaller) -> Credential:
    """The caller's credential."""
    return caller.credential


def tenant_id(caller: CurrentCaller) -> str:
    """The caller's tenant id."""
    return caller.credential.tenant_id


def tenant_runtime(caller: CurrentCaller) -> Runtime:
    """The runtime holding the caller's tenant."""
    return caller.runtime


def tier_allowance(caller: CurrentCaller) -> Allowance:
    """What the caller's tier allows this request (concurrent jobs, media minutes)."""
    return caller.allowance


Principal = Annotated[Credential, Depends(principal)]
TenantId = Annotated[str, Depends(tenant_id)]
TenantRuntime = Annotated[Runtime, Depends(tenant_runtime)]
TierAllowance = Annotated[Allowance, Depends(tier_allowance)]


def state_runtime(home: HomeRuntime, provider: str, state: str = "") -> Runtime:
    """The runtime of the tenant that started a vendor connect flow (its signed OAuth state names it)."""
    try:
        tenant = read_state(home.vault.ring, state, provider).tenant_id
    except InputError:
        return home  # the connect flow then refuses the state with its usual invalid_state error
    return home.for_tenant(tenant)


StateRuntime = Annotated[Runtime, Depends(state_runtime)]


def source_hooks(home: HomeRuntime) -> SourceHooks:
    """The vendor webhooks of every region this process serves."""
    return home.hooks


Hooks = Annotated[SourceHooks, Depends(source_hooks)]


def limits(connection: HTTPConnection) -> RateLimits:
    """The app's rate limits."""
    return rate_limits(connection.app)


Limits = Annotated[RateLimits, Depends(limits)]
