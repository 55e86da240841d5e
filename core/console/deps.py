"""What a console request needs: who is signed in, what they may do, and the runtime of their tenant.

``tenant_runtime`` is the one place the console looks up the app's runtime for a tenant (region routing);
it also leaves the tenant, actor and runtime where the API's shared helpers (rate limits, audit) read them.
When ``core/api/deps.py`` gives the API typed dependencies, this module is the one to point at them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from core.console.csrf import FIELD, HEADER, check_csrf_token
from core.console.sessions import SESSION_COOKIE, ConsoleUser, Sessions
from core.runtime import Runtime
from core.sdk.errors import InputError

__all__ = [
    "SignInRequired",
    "NotPermitted",
    "home_runtime",
    "sessions",
    "current_user",
    "tenant_runtime",
    "require",
    "csrf_checked",
    "Viewer",
]


class SignInRequired(InputError):
    """401: no live console session; pages answer with the sign-in page instead."""

    def __init__(self) -> None:
        super().__init__("sign_in_required", "sign in to the console first", 401)


class NotPermitted(InputError):
    """403: the signed-in user lacks the scope this page or action needs."""

    def __init__(self, scope: str) -> None:
        super().__init__("insufficient_scope", f"your account does not have the '{scope}' scope", 403)
        self.scope = scope


def home_runtime(request: Request) -> Runtime:
    """The app's own runtime (the directory of tenants and their users)."""
    rt: Runtime = request.app.state.runtime
    return rt


def sessions(request: Request) -> Sessions:
    """The app's console sessions (built on first use, on the home database)."""
    found: Sessions | None = getattr(request.app.state, "console_sessions", None)
    if found is None:
        home = home_runtime(request)
        found = request.app.state.console_sessions = Sessions(home.db, home.store)
    return found


async def current_user(request: Request) -> ConsoleUser:
    """The signed-in user of the session cookie; ``SignInRequired`` without a live session."""
    done: ConsoleUser | None = getattr(request.state, "console_user", None)
    if done is not None:
        return done
    user = await run_in_threadpool(sessions(request).current, request.cookies.get(SESSION_COOKIE))
    if user is None:
        raise SignInRequired()
    request.state.console_user = user
    return user


Viewer = Annotated[ConsoleUser, Depends(current_user)]


def tenant_runtime(request: Request, user: ConsoleUser) -> Runtime:
    """The runtime holding the user's tenant's data (its region's stores)."""
    rt = home_runtime(request).for_tenant(user.tenant_id)
    request.state.runtime = rt
    request.state.tenant_id = user.tenant_id
    request.state.actor = user.actor
    return rt


def require(scope: str) -> Callable[[ConsoleUser], Awaitable[ConsoleUser]]:
    """A dependency: the signed-in user when they hold ``scope``, else ``NotPermitted``."""

    async def dependency(user: Viewer) -> ConsoleUser:
        if not user.can(scope):
            raise NotPermitted(scope)
        return user

    return dependency


async def csrf_checked(request: Request, user: Viewer) -> ConsoleUser:
    """The signed-in user once the request's CSRF token (header, or form field) matches their session."""
    token = request.headers.get(HEADER)
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if token is None and kind == "application/x-www-form-urlencoded":
        token = str((await request.form()).get(FIELD) or "") or None
    check_csrf_token(home_runtime(request).vault.ring, token, f"session:{user.session_hash}")
    return user
