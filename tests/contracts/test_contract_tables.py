"""The vendor contract tables: well formed, each row covered by a real test, consented in the provider file,
rendered into docs/vendors.md; and the guard every emulator wears refuses what they do not list."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from config import CONFIG_DIR
from tests.emulators import contract
from tests.emulators.server import serve

ROOT = Path(__file__).resolve().parents[2]
TABLES = contract.vendors()


@cache
def _test_names(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text())
    return frozenset(n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))


def _consented(table: contract.Contract) -> set[str]:
    found: set[str] = set()
    for provider, place in table.consent_places():
        spec: Any = yaml.safe_load((CONFIG_DIR / "providers" / f"{provider}.yaml").read_text())
        for part in place.split("."):
            spec = spec.get(part) if isinstance(spec, dict) else None
        found |= set(spec or ())
    return found


def test_there_is_a_table_for_every_vendor_with_an_emulator() -> None:
    assert {"graph", "hubspot", "salesforce", "slack", "zoom"} <= set(TABLES)


@pytest.mark.parametrize("vendor", TABLES)
def test_every_row_names_a_test_that_exists(vendor: str) -> None:
    missing = []
    for call in contract.load(vendor).calls:
        path, name = call.test.split("::")[0], call.test.split("::")[-1].split("[")[0]
        if not (ROOT / path).is_file() or name not in _test_names(path):
            missing.append(f"{call.id}: {call.test}")
    assert not missing, missing


@pytest.mark.parametrize("vendor", [v for v in TABLES if contract.load(v).consent_places()])
def test_the_provider_file_asks_for_a_scope_of_every_call(vendor: str) -> None:
    table = contract.load(vendor)
    consented = _consented(table)
    uncovered = [
        f"{c.id} needs one of {list(c.scopes)}"
        for c in table.calls
        if c.scopes and not set(c.scopes) & consented
    ]
    assert not uncovered, f"config/providers: {table.consent_places()} lack: {uncovered}"


def test_docs_vendors_md_is_generated_from_the_tables() -> None:
    run = subprocess.run(
        [sys.executable, "scripts/vendor_table.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


# the guard ------------------------------------------------------------------------------------------------


def _table() -> contract.Contract:
    row = {"source": "https://example.com/doc", "test": "tests/contracts/test_contract_tables.py::test_x"}
    calls = (
        contract.Call(id="items.get", method="GET", path="/v1/items/{id}", scopes=("items.read",), **row),
        contract.Call(id="items.all", method="GET", path="/v1/items/{rest*}", **row),
        contract.Call(id="ping", method="POST", path="/v1/ping", **row),
    )
    return contract.Contract("demo", "Demo", None, "oauth.scopes", calls)


def _refuse(request: Request, call: contract.Call | None, why: str) -> Response:
    return JSONResponse({"refused": why, "call": call.id if call else None}, 403 if call else 404)


@pytest.fixture
def guarded() -> Iterator[httpx.Client]:
    async def ok(request: Request) -> Response:
        return JSONResponse({"ok": True})

    grants = {"read": {"items.read"}, "none": set()}
    app = Starlette(routes=[Route("/{path:path}", ok, methods=["GET", "POST"])])
    contract.guard(
        app,
        _table(),
        scopes_of=lambda r: grants.get(r.headers.get("authorization", "")),
        refuse=_refuse,
        prefix="/mount",
        open_paths=("/_control",),
    )
    with serve(app) as base, httpx.Client(base_url=base) as client:
        yield client


def test_guard_refuses_a_call_no_row_lists_and_remembers_it(guarded: httpx.Client) -> None:
    before = len(contract.UNLISTED)
    answer = guarded.delete("/mount/v1/items/7")
    assert (answer.status_code, answer.json()) == (404, {"refused": "unlisted", "call": None})
    assert contract.UNLISTED[before:] == [("demo", "DELETE", "/v1/items/7")]
    contract.UNLISTED[before:] = []  # this refusal was on purpose: the session hook must not fail the run


def test_guard_refuses_a_token_without_any_scope_of_the_row(guarded: httpx.Client) -> None:
    answer = guarded.get("/mount/v1/items/7", headers={"authorization": "none"})
    assert (answer.status_code, answer.json()) == (403, {"refused": "scope", "call": "items.get"})


def test_guard_passes_granted_and_unknown_tokens_and_counts_the_call(guarded: httpx.Client) -> None:
    before = contract.MADE[("demo", "items.get")]
    assert guarded.get("/mount/v1/items/7", headers={"authorization": "read"}).json() == {"ok": True}
    assert guarded.get("/mount/v1/items/7").json() == {"ok": True}  # no token: the route answers its own 401
    assert contract.MADE[("demo", "items.get")] == before + 2


def test_guard_takes_the_most_specific_row_and_leaves_control_routes_alone(guarded: httpx.Client) -> None:
    before = contract.MADE[("demo", "items.all")]
    assert guarded.get("/mount/v1/items/7/parts/2", headers={"authorization": "none"}).json() == {"ok": True}
    assert contract.MADE[("demo", "items.all")] == before + 1
    assert guarded.post("/_control/reset").json() == {"ok": True}
    assert guarded.post("/mount/v1/ping").json() == {"ok": True}


def test_guard_takes_an_encoded_slash_in_an_id_as_one_segment(guarded: httpx.Client) -> None:
    before = contract.MADE[("demo", "items.get")]
    answer = guarded.get("/mount/v1/items/ab%2Fcd==", headers={"authorization": "read"})
    assert answer.json() == {"ok": True}  # Zoom meeting UUIDs may hold "/", sent encoded
    assert contract.MADE[("demo", "items.get")] == before + 1
