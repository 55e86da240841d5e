"""RFC 9457 problem+json responses with a stable ``code``; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.sdk.errors import InputError

__all__ = ["problem", "install_problem_handlers", "unreachable_store", "PROBLEM_TYPE_BASE"]

log = logging.getLogger("echodepth.api")
PROBLEM_TYPE_BASE = "https://echodepth.dev/problems/"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    413: "Payload too large",
    421: "Misdirected request",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
    507: "Insufficient storage",
}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: "payload_too_large"}


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


def _input_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    headers = {"WWW-Authenticate": 'Bearer realm="echodepth"'} if exc.status == 401 else None
    return problem(exc.status, exc.code, exc.message, headers)


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return problem(422, "invalid_input", "the request did not validate", errors=errors)


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


STORE_RETRY_AFTER_S = 5  # a restarted Redis or PostgreSQL answers again within seconds (docs/operations.md)
_STORE_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    (redis.exceptions.ConnectionError, "broker"),
    (redis.exceptions.TimeoutError, "broker"),
    (sqlalchemy.exc.OperationalError, "database"),
    (sqlalchemy.exc.InterfaceError, "database"),
)


def unreachable_store(exc: BaseException) -> str | None:
    """``broker`` or ``database`` when ``exc`` (or what caused it) is a lost connection to that store."""
    seen: BaseException | None = exc
    while seen is not None:
        for kind, store in _STORE_ERRORS:
            if isinstance(seen, kind):
                return store
        seen = seen.__cause__ or seen.__context__
    return None


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    store = unreachable_store(exc)
    if store is not None:  # an outage, not a bug: the client's retry after a few seconds will succeed
        log.warning("request failed: the %s is unreachable (%s)", store, type(exc).__name__)
        detail = f"the {store} is unreachable; retry in a few seconds"
        return problem(503, "not_ready", detail, {"Retry-After": str(STORE_RETRY_AFTER_S)}, store=store)
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal_error", "something went wrong on our side; it has been logged")


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error through problem()."""
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
