"""Sign in and sign out; the console's front door."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from core.api.oauth import limit_oauth
from core.console.csrf import check_csrf_token, csrf_token
from core.console.deps import SignInRequired, csrf_checked, current_user, home_runtime, sessions
from core.console.sessions import SESSION_COOKIE, SESSION_TTL, ConsoleUser
from core.console.templating import NAV, render
from core.oauth.csrf import CsrfFailed

__all__ = ["router", "landing_for"]

router = APIRouter(prefix="/console")
SIGN_IN_COOKIE = "echodepth_console_sign_in"  # the nonce the sign-in form's CSRF token is bound to
_SIGN_IN_TTL = 3600


def landing_for(user: ConsoleUser) -> str:
    """The first page a user sees: the first menu page their scopes open (Analyse, Jobs, …), else their
    account page."""
    return next((item.href for item in NAV if user.can(item.scope)), "/console/account")


def _safe_next(target: str | None) -> str | None:
    """A post-sign-in target only when it is a console path of this site (no open redirect)."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _sign_in_page(request: Request, nonce: str, error: str | None = None, status: int = 200) -> Response:
    token = csrf_token(home_runtime(request).vault.ring, f"sign-in:{nonce}")
    target = _safe_next(request.query_params.get("next"))
    page = render(request, "sign_in.html", None, status, csrf=token, error=error, next=target or "")
    secure = request.url.scheme == "https"
    page.set_cookie(
        SIGN_IN_COOKIE, nonce, _SIGN_IN_TTL, path="/console", secure=secure, httponly=True, samesite="strict"
    )
    return page


@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    """The landing page of the signed-in user, or the sign-in page."""
    try:
        user = await current_user(request)
    except SignInRequired:
        return RedirectResponse("/console/sign-in", status_code=303)
    return RedirectResponse(landing_for(user), status_code=303)


@router.get("/sign-in", include_in_schema=False)
async def sign_in_form(request: Request) -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    try:
        user = await current_user(request)
        return RedirectResponse(landing_for(user), status_code=303)
    except SignInRequired:
        nonce = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
        return _sign_in_page(request, nonce)


@router.post("/sign-in", include_in_schema=False, dependencies=[Depends(limit_oauth)])
async def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
    next_page: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Check the password, then start a new session (a fresh secret: any earlier one is revoked)."""
    nonce = request.cookies.get(SIGN_IN_COOKIE)
    try:
        check_csrf_token(
            home_runtime(request).vault.ring, csrf_token_field, f"sign-in:{nonce}" if nonce else None
        )
    except CsrfFailed:
        return _sign_in_page(
            request, secrets.token_urlsafe(24), "The form expired; please sign in again.", 403
        )
    found = await run_in_threadpool(sessions(request).check_password, email, password)
    if found is None:
        return _sign_in_page(request, nonce or secrets.token_urlsafe(24), "Wrong email or password.", 401)
    await run_in_threadpool(sessions(request).close, request.cookies.get(SESSION_COOKIE))
    secret = await run_in_threadpool(sessions(request).open, found)
    user = await run_in_threadpool(sessions(request).current, secret)
    assert user is not None  # just opened
    response = RedirectResponse(_safe_next(next_page) or landing_for(user), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        int(SESSION_TTL.total_seconds()),
        path="/console",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out", include_in_schema=False)
async def sign_out(request: Request, user: Annotated[ConsoleUser, Depends(csrf_checked)]) -> Response:
    """End the session here and on the server."""
    await run_in_threadpool(sessions(request).close, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@router.get("/account", include_in_schema=False)
async def account(request: Request, user: Annotated[ConsoleUser, Depends(current_user)]) -> Response:
    """Who is signed in and what their scopes let them do here."""
    return render(request, "account.html", user, scopes=sorted(user.scopes))
