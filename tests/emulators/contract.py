"""The vendor contract tables (``tests/contracts/<vendor>/calls.yaml``) and the guard every emulator wears.

A table lists each vendor call our connectors make: method, path, the scope or permission the vendor
documents for it, the documented limit, the page that says so, and a test that exercises it. ``guard``
installs a middleware on an emulator app that refuses any request the table does not list (so a connector
that starts calling something new fails its tests until the call is looked up and written down), refuses a
listed call whose token lacks every scope the table names (in the vendor's own 403 shape), and counts calls.

``docs/vendors.md`` is generated from the same tables by ``scripts/vendor_table.py``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "CONTRACTS_DIR",
    "MADE",
    "UNLISTED",
    "Call",
    "Contract",
    "guard",
    "load",
    "table_rows",
    "vendors",
]

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"
MADE: Counter[tuple[str, str]] = Counter()  # (vendor, call id) → calls seen by a guarded emulator
UNLISTED: list[tuple[str, str, str]] = []  # (vendor, method, path) refused because no table row lists them

_PARAM = re.compile(r"\{(\w+)(\*?)\}")


class Call(BaseModel):
    """One row of a contract table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][\w.-]*$")
    method: str = Field(pattern=r"^(GET|POST|PUT|PATCH|DELETE)$")
    path: str = Field(pattern=r"^/")
    scopes: tuple[str, ...] = ()  # any one of them grants the call; () = no scope needed
    limit: str = ""
    source: str = Field(pattern=r"^https://")
    test: str = Field(pattern=r"^tests/.+\.py::\w+")
    note: str = ""

    def pattern(self) -> re.Pattern[str]:
        """The path as a regex: ``{x}`` is one segment (or part of one), ``{x*}`` the rest of the path."""
        out, at = [], 0
        for found in _PARAM.finditer(self.path):
            out.append(re.escape(self.path[at : found.start()]))
            out.append(".+" if found[2] else "[^/]+?")
            at = found.end()
        out.append(re.escape(self.path[at:]))
        return re.compile("".join(out) + "/?")


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vendor: str
    title: str
    provider: str | None = None  # config/providers/<provider>.yaml must ask for a scope of every call
    # where the consented scopes or permissions are listed: a dotted path in that file, or several
    # "<provider>:<dotted path>" places (e.g. delegated scopes in one file, app permissions in another)
    consent: str | list[str] = "oauth.scopes"
    calls: list[Call]


@dataclass(frozen=True)
class Contract:
    """A vendor's table, ready to match requests."""

    vendor: str
    title: str
    provider: str | None
    consent: str | list[str]
    calls: tuple[Call, ...]

    def consent_places(self) -> list[tuple[str, str]]:
        """(provider key, dotted path) of every place whose scopes the consent grants ([]: none named)."""
        places = [self.consent] if isinstance(self.consent, str) else self.consent
        named = [tuple(p.split(":", 1)) if ":" in p else (self.provider, p) for p in places]
        return [(str(k), str(path)) for k, path in named if k]

    def match(self, method: str, path: str) -> Call | None:
        """The row for ``method path`` (the most specific one when several templates fit)."""
        fits = [c for c in self.calls if c.method == method.upper() and c.pattern().fullmatch(path)]
        return max(fits, key=lambda c: len(_PARAM.sub("", c.path)), default=None)


@cache
def load(vendor: str) -> Contract:
    """``tests/contracts/<vendor>/calls.yaml``, validated (ids unique)."""
    raw = yaml.safe_load((CONTRACTS_DIR / vendor / "calls.yaml").read_text())
    table = _Table.model_validate(raw)
    ids = [c.id for c in table.calls]
    if len(ids) != len(set(ids)) or table.vendor != vendor:
        raise ValueError(f"{vendor}: call ids must be unique and vendor must be {vendor!r}")
    return Contract(table.vendor, table.title, table.provider, table.consent, tuple(table.calls))


def vendors() -> list[str]:
    """Every vendor with a table."""
    return sorted(p.parent.name for p in CONTRACTS_DIR.glob("*/calls.yaml"))


ScopesOf = Callable[[Request], Collection[str] | None]
Refuse = Callable[[Request, Call | None, str], Response]


def _unlisted(request: Request, call: Call | None, why: str) -> Response:
    body = {"error": "not_in_contract_table", "method": request.method, "path": request.url.path}
    return JSONResponse(body, 501)


class _Guard:
    """ASGI middleware: refuse what the table does not list or the token may not call; count the rest."""

    def __init__(
        self,
        app: ASGIApp,
        contract: Contract,
        scopes_of: ScopesOf,
        refuse: Refuse,
        prefix: str,
        open_paths: Iterable[str],
    ) -> None:
        self.app, self.contract, self.scopes_of, self.refuse = app, contract, scopes_of, refuse
        self.prefix, self.open_paths = prefix, tuple(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :] or "/"
        if self.open_paths and path.startswith(self.open_paths):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        answer = self._check(request, path)
        if answer is not None:
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, request: Request, path: str) -> Response | None:
        call = self._match_raw(request) or self.contract.match(request.method, path)
        if call is None:
            UNLISTED.append((self.contract.vendor, request.method, path))
            return self.refuse(request, None, "unlisted")
        MADE[(self.contract.vendor, call.id)] += 1
        granted = self.scopes_of(request) if call.scopes else None
        if granted is not None and not set(call.scopes) & set(granted):
            return self.refuse(request, call, "scope")
        return None

    def _match_raw(self, request: Request) -> Call | None:
        """Match the path as sent: an id holding an encoded "/" (Zoom meeting UUIDs) is one segment."""
        raw = bytes(request.scope.get("raw_path") or b"").decode("latin-1")
        if self.prefix and raw.startswith(self.prefix):
            raw = raw[len(self.prefix) :] or "/"
        return self.contract.match(request.method, raw) if raw else None


def guard(
    app: Starlette,
    contract: Contract,
    *,
    scopes_of: ScopesOf,
    refuse: Refuse = _unlisted,
    prefix: str = "",
    open_paths: Iterable[str] = (),
) -> Starlette:
    """Install the contract guard on ``app`` (outermost) and return it."""
    app.add_middleware(
        _Guard,
        contract=contract,
        scopes_of=scopes_of,
        refuse=refuse,
        prefix=prefix,
        open_paths=tuple(open_paths),
    )
    return app


def table_rows() -> list[dict[str, Any]]:
    """Every row of every table, with its vendor (for the docs generator and the table tests)."""
    return [{"vendor": v, "title": load(v).title, **c.model_dump()} for v in vendors() for c in load(v).calls]
