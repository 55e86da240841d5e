"""A stateful Salesforce emulator that validates: the OAuth web server flow with PKCE on several login
hosts (production, sandbox, My Domain, served here as path prefixes), refresh, revoke, the identity URL, and
the REST calls the Salesforce Sink makes (SOQL query, describe, sObject Collections create/update/upsert,
Tooling ``CustomField``, limits).

Every request passes the contract guard (``tests/contracts/salesforce/calls.yaml``): a call not in the table
is refused, and a token whose grant lacks the documented OAuth scope is answered as Salesforce does (REST
without ``api``: 401 "This session is not valid for use with the REST API"; the identity URL without ``id``:
403). Every body is checked against the documented shapes. Salesforce publishes no reusable OpenAPI for these
resources (its sObjects OpenAPI is generated per org, in beta, under Salesforce's Beta Services Terms, and
covers /sobjects only, not composite/sobjects or query:
https://developer.salesforce.com/docs/platform/api-rest/guide/openapi-beta.html), so the checks are written
from the REST API Developer Guide, with links: sObject Collections hold ``allOrNone`` and ``records``
only, at most 200 records, each with ``attributes.type``, in at most 10 chunks of contiguous type; every
field must exist on its sObject and carry a value of its type; a Task may not relate a Lead (``WhoId``) to a
record (``WhatId``). The answers are the documented bodies of ``tests/contracts/salesforce/errors.yaml``.

Wire format after the Salesforce help pages "OAuth 2.0 Web Server Flow", "OAuth 2.0 Refresh Token Flow" and
"Revoke OAuth Tokens": token answers carry ``access_token, refresh_token (code grant only, and only when the
grant has the refresh_token / offline_access scope), signature, scope, instance_url, id, token_type,
issued_at`` and no ``expires_in``; errors ``{"error": "invalid_grant", "error_description": "expired
access/refresh token"}``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from config import CONFIG_DIR
from tests.emulators import contract
from tests.emulators.oauth import OAuthEmulator, bearer, form_of, running, scopes_in

CLIENT_ID = "3MVG9sf-consumer-key"
CLIENT_SECRET = "sf-consumer-secret-do-not-log"
ORG_ID = "00Dxx0000001gEREAY"
USER_ID = "005xx000001Sv6AAAS"
MY_DOMAIN = "acme.my.salesforce.com"
COLLECTION_MAX = 200  # "The list can contain up to 200 objects."
CHUNK_MAX = 10  # "A single request can process up to 10 chunks."
URI_MAX = 16_384  # bytes of request URI the REST API accepts
OFFLINE = frozenset({"refresh_token", "offline_access"})  # synonyms: a refresh token is issued
_VERSIONED = re.compile(r"/services/data/v[\d.]+/")
_PREFIXES = {"Contact": "003", "Lead": "00Q", "Opportunity": "006", "Task": "00T", "Profile": "00e"}
_PREFIXES |= {"PermissionSet": "0PS", "FieldPermissions": "01k", "OpportunityContactRole": "00K"}

# The fields of the standard objects the sink touches, with their SOAP types (Object Reference pages, e.g.
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm)
STANDARD: dict[str, dict[str, str]] = {
    "Contact": {"Id": "id", "Email": "email", "FirstName": "string", "LastName": "string"},
    "Lead": {"Id": "id", "Email": "email", "FirstName": "string", "LastName": "string", "Company": "string"},
    "Opportunity": {"Id": "id", "Name": "string", "IsClosed": "boolean", "StageName": "picklist"},
    "OpportunityContactRole": {"Id": "id", "ContactId": "reference", "OpportunityId": "reference"},
    "Task": {"Id": "id", "WhoId": "reference", "WhatId": "reference", "Subject": "combobox"},
    "Profile": {"Id": "id", "Name": "string"},
    "PermissionSet": {"Id": "id", "Name": "string", "Label": "string", "IsOwnedByProfile": "boolean"},
    "FieldPermissions": {"Id": "id", "ParentId": "reference", "SobjectType": "picklist", "Field": "string"},
}
STANDARD["Contact"] |= {"AccountId": "reference"}
STANDARD["Lead"] |= {"IsConverted": "boolean", "LeadSource": "picklist"}
STANDARD["Opportunity"] |= {"AccountId": "reference"}
STANDARD["OpportunityContactRole"] |= {"CreatedDate": "datetime", "Role": "picklist"}
STANDARD["Task"] |= {"Description": "textarea", "TaskSubtype": "picklist", "Status": "picklist"}
STANDARD["Task"] |= {"ActivityDate": "date", "CallDurationInSeconds": "int", "Priority": "picklist"}
STANDARD["PermissionSet"] |= {"ProfileId": "reference"}
STANDARD["FieldPermissions"] |= {"PermissionsRead": "boolean", "PermissionsEdit": "boolean"}
_CUSTOM_TYPES = {
    "Number": "double",
    "Text": "string",
    "DateTime": "datetime",
    "Url": "url",
    "Picklist": "picklist",
}
_JSON_TYPES: dict[str, tuple[type, ...]] = {"double": (int, float), "int": (int,), "boolean": (bool,)}


@cache
def documented() -> dict[str, Any]:
    """tests/contracts/salesforce/errors.yaml: Salesforce's documented answers, with their pages."""
    found: dict[str, Any] = yaml.safe_load(
        (contract.CONTRACTS_DIR / "salesforce" / "errors.yaml").read_text()
    )
    return found


def record_error(name: str, **fmt: str) -> dict[str, Any]:
    """One record's documented refusal (a SaveResult's ``errors[0]``)."""
    raw = documented()["record"][name]
    return {"statusCode": raw["statusCode"], "message": raw["message"].format(**fmt), "fields": raw["fields"]}


def mapped_fields() -> dict[str, dict[str, str]]:
    """The custom fields of config/mappings/salesforce.yaml with their SOAP types (Task's on Activity)."""
    raw = yaml.safe_load((CONFIG_DIR / "mappings" / "salesforce.yaml").read_text())
    found = {
        sobject: {name: _CUSTOM_TYPES.get(rule.get("type", "Text"), "string") for name, rule in rules.items()}
        for sobject, rules in raw.items()
        if sobject != "Task"
    }
    found["Task"] = {raw["Task"]["external_id_field"]: "string"}
    return found


class _Refused(Exception):
    """A whole request refused with a documented answer."""

    def __init__(self, name: str, **fmt: str) -> None:
        super().__init__(name)
        self.name, self.fmt = name, fmt


def _error_list(name: str, **fmt: str) -> tuple[int, list[dict[str, Any]]]:
    raw = documented()["request"][name]
    body = [{k: str(v).format(**fmt) if isinstance(v, str) else v for k, v in e.items()} for e in raw["body"]]
    return int(raw["status"]), body


class _Hosts:
    """ASGI: ``/login``, ``/test``, ``/mydomain/<host>`` (login hosts) and ``/instance`` (the org) are path
    prefixes here; strip them so routes and the contract table see Salesforce's own paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = str(scope["path"])
            found = re.match(r"^/(login|test|instance|mydomain/[^/]+)(/.*)$", path)
            host, rest = (found[1], found[2]) if found else ("", path)
            scope = {**scope, "path": rest, "raw_path": rest.encode(), "sf_host": host}
        await self.app(scope, receive, send)


class SalesforceEmulator(OAuthEmulator):
    """login/test/My Domain hosts (``/login``, ``/test``, ``/mydomain/<host>``) and one org instance."""

    key = "salesforce"
    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    rotates = False
    access_prefix = f"{ORG_ID}!AR"
    refresh_prefix = "5Aep861"

    def __init__(self) -> None:
        super().__init__()
        self.state.expires_in = None  # sessions end server-side; the API then answers INVALID_SESSION_ID
        self.revoke_hosts: list[str] = []
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.api_used, self.api_max = 0, 15000
        self.api_calls: list[str] = []
        self.create_only = {"Task": {"TaskSubtype"}}  # createable but not updateable fields
        self.installed = (
            mapped_fields()
        )  # custom fields the org has for writes (describe shows custom_fields)
        self.missing_fields: dict[str, set[str]] = {}  # mapped custom fields the org lacks (INVALID_FIELD)
        self.after_next_query: dict[str, dict[str, Any]] = {}  # {sObject: fields} added after a query on it
        self.custom_fields: dict[str, dict[str, Any]] = {}  # owner (Activity for Task) → name → metadata
        self.kinds: Counter[str] = Counter()  # REST calls by kind, e.g. "query Task"
        self.collections: list[list[str]] = []  # each sObject Collections request's record types, in order
        self.limited = 0  # calls refused with REQUEST_LIMIT_EXCEEDED
        self.refused: Counter[str] = Counter()  # documented refusals answered, by name
        self.required = {"Lead": ("LastName", "Company"), "Contact": ("LastName",)}  # required on create
        self.required |= {"PermissionSet": ("Name", "Label"), "FieldPermissions": ("ParentId", "Field")}
        self.refuse_setup_objects = False  # the integration user may not manage permission sets

    def add(self, sobject: str, **fields: Any) -> str:
        """Store a record; returns its 18-character-style id."""
        prefix = _PREFIXES.get(sobject, "a00")
        record_id = f"{prefix}xx{len(self.records.get(sobject, {})) + 1:013d}"
        if sobject == "Lead":
            fields.setdefault("IsConverted", False)  # a new Lead is unconverted
        self.records.setdefault(sobject, {})[record_id] = {"Id": record_id, **fields}
        return record_id

    # answers ---------------------------------------------------------------------------------

    def _answer(self, body: Any, status: int = 200) -> JSONResponse:
        """Every REST answer carries the org's usage (Sforce-Limit-Info)."""
        return JSONResponse(
            body, status, headers={"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_max}"}
        )

    def _refusal(self, name: str, **fmt: str) -> JSONResponse:
        """A documented whole-request refusal (errors.yaml ``request``)."""
        self.refused[name] += 1
        status, body = _error_list(name, **fmt)
        return self._answer(body, status)

    def refuse(self, request: Request, call: contract.Call | None, why: str) -> Response:
        """The guard's answers: an unlisted call (501), or a grant without the call's OAuth scope."""
        if call is None:
            return JSONResponse({"error": "not_in_contract_table", "path": request.url.path}, 501)
        self.refused[f"scope {call.id}"] += 1
        if call.id == "identity.get":
            return Response("Bad_OAuth_Token", status_code=403)  # the identity service needs the id scope
        status, body = _error_list("rest_scope_missing")
        return JSONResponse(body, status)

    def _api(self, request: Request) -> JSONResponse | None:
        """Count the call (by kind too); 401 INVALID_SESSION_ID for a dead session; 403
        REQUEST_LIMIT_EXCEEDED once the org's API request limit is spent (it rolls over 24 h)."""
        self.api_calls.append(f"{request.method} {_VERSIONED.split(request.url.path)[-1]}")
        self.kinds[_kind(request)] += 1
        if not self.access_ok(bearer(request)):
            status, body = _error_list("invalid_session")
            return JSONResponse(body, status_code=status)
        if self.api_used >= self.api_max:
            self.limited += 1
            return self._refusal("request_limit")
        self.api_used += 1
        return None

    # schema ----------------------------------------------------------------------------------

    def schema(self, sobject: str) -> dict[str, str] | None:
        """Field → SOAP type of an sObject for writes and queries; None for a type the org lacks."""
        if sobject not in STANDARD:
            return None
        owner = "Activity" if sobject == "Task" else sobject
        custom = {
            n: _CUSTOM_TYPES.get(str(m.get("type")), "string")
            for n, m in self.custom_fields.get(owner, {}).items()
        }
        mapped = {
            n: t
            for n, t in self.installed.get(sobject, {}).items()
            if n not in self.missing_fields.get(sobject, set())
        }
        return {**STANDARD[sobject], **mapped, **custom}

    def _check_fields(self, sobject: str, record: dict[str, Any]) -> None:
        """Unknown field: INVALID_FIELD; a value of the wrong JSON type: JSON_PARSER_ERROR (whole request)."""
        schema = self.schema(sobject)
        if schema is None:
            raise _Refused("unknown_type", sobject=sobject)
        for name, value in record.items():
            if name == "attributes":
                continue
            if name not in schema:
                raise _Refused("no_such_column", field=name, sobject=sobject)
            if value is not None and not _of_type(schema[name], value):
                raise _Refused(
                    "json_parser", what=f"{schema[name]} from {type(value).__name__} value {value!r}"
                )

    def _collection_body(self, raw: bytes, path_type: str | None = None) -> tuple[bool, list[dict[str, Any]]]:
        """``{allOrNone, records}`` checked against the sObject Collections rules; its records."""
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            raise _Refused("json_parser", what="the request body: it is not JSON") from exc
        if not isinstance(body, dict) or set(body) - {"allOrNone", "records"}:
            raise _Refused(
                "json_parser",
                what=f"the body: unrecognized field(s) {sorted(set(body or {}) - {'allOrNone', 'records'})}",
            )
        all_or_none, records = body.get("allOrNone", False), body.get("records")
        if not isinstance(all_or_none, bool) or not isinstance(records, list):
            raise _Refused("json_parser", what="allOrNone (boolean) or records (list)")
        if len(records) > COLLECTION_MAX:
            raise _Refused("too_many_records")
        types = [_type_of(r) for r in records]
        if any(t is None for t in types) or (path_type is not None and set(types) - {path_type}):
            raise _Refused("no_type")
        if _chunks(types) > CHUNK_MAX:
            raise _Refused("too_many_chunks")
        for record, sobject in zip(records, types, strict=True):
            self._check_fields(str(sobject), record)
        self.collections.append([str(t) for t in types])
        return all_or_none, records

    async def _records_of(
        self, request: Request, path_type: str | None = None
    ) -> list[dict[str, Any]] | JSONResponse:
        try:
            return self._collection_body(await request.body(), path_type)[1]
        except _Refused as refused:
            return self._refusal(refused.name, **refused.fmt)

    # rules -----------------------------------------------------------------------------------

    def _task_rule(self, sobject: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """A Task whose WhoId is a Lead may have no WhatId (Task object reference, WhoId)."""
        if (
            sobject == "Task"
            and str(fields.get("WhoId") or "").startswith(_PREFIXES["Lead"])
            and fields.get("WhatId")
        ):
            return record_error("lead_with_what")
        return None

    def _write_one(
        self, record: dict[str, Any], sobject: str, existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        fields = {k: v for k, v in record.items() if k != "attributes"}
        refused = set(fields) & self.create_only.get(sobject, set()) if existing is not None else set()
        if refused:
            return _failed(record_error("create_only", fields=", ".join(sorted(refused))))
        merged = {**(existing or {}), **fields}
        if (rule := self._task_rule(sobject, merged)) is not None:
            return _failed(rule)
        if existing is None:
            return {"id": self.add(sobject, **fields), "success": True, "errors": [], "created": True}
        existing.update(fields)
        return {"id": existing["Id"], "success": True, "errors": [], "created": False}

    # routes ----------------------------------------------------------------------------------

    async def query(self, request: Request) -> Response:
        """GET /query?q=SOQL for the SELECT … FROM … WHERE a = x AND b IN (…) [ORDER BY …] [LIMIT n] shape."""
        if (refused := self._api(request)) is not None:
            return refused
        target = request.scope.get("raw_path", b"") + b"?" + request.scope.get("query_string", b"")
        if len(target) > URI_MAX:
            return self._refusal("uri_too_long")
        soql = request.query_params.get("q", "")
        try:
            found = _soql(self, soql)
        except _Refused as refused:
            return self._refusal(refused.name, **refused.fmt)
        answer = self._answer({"totalSize": len(found), "done": True, "records": found})
        for sobject in list(self.after_next_query):
            if f"FROM {sobject} " in soql:
                self.add(sobject, **self.after_next_query.pop(sobject))
        return answer

    async def collection_update(self, request: Request) -> Response:
        """PATCH /composite/sobjects: update up to 200 records of up to 10 contiguous type chunks."""
        if (refused := self._api(request)) is not None:
            return refused
        records = await self._records_of(request)
        if isinstance(records, Response):
            return records
        results = []
        for record in records:
            sobject = record["attributes"]["type"]
            if not record.get("Id"):
                results.append(_failed(record_error("id_missing_in_update")))
                continue
            existing = self.records.get(sobject, {}).get(str(record["Id"]))
            if existing is None:
                results.append(_failed(record_error("entity_deleted")))
                continue
            results.append(self._write_one({k: v for k, v in record.items() if k != "Id"}, sobject, existing))
        return self._answer(results)

    async def collection_create(self, request: Request) -> Response:
        """POST /composite/sobjects: create up to 200 records; no Id; each type's required fields."""
        if (refused := self._api(request)) is not None:
            return refused
        records = await self._records_of(request)
        if isinstance(records, Response):
            return records
        results = []
        for record in records:
            sobject = record["attributes"]["type"]
            lacking = [f for f in self.required.get(sobject, ()) if not record.get(f)]
            if "Id" in record:
                results.append(_failed(record_error("id_in_insert")))
            elif lacking:
                results.append(_failed(record_error("required_missing", fields=", ".join(lacking))))
            elif (refusal := self._setup_refusal(sobject, record)) is not None:
                results.append(_failed(refusal))
            else:
                results.append(self._write_one(record, sobject, None))
        return self._answer(results)

    async def collection_upsert(self, request: Request) -> Response:
        """PATCH /composite/sobjects/{type}/{externalIdField}: upsert up to 200 records on an External ID."""
        if (refused := self._api(request)) is not None:
            return refused
        sobject, key_field = request.path_params["sobject"], request.path_params["field"]
        if key_field not in (self.schema(sobject) or {}):
            return self._refusal("no_such_column", field=key_field, sobject=sobject)
        records = await self._records_of(request, path_type=sobject)
        if isinstance(records, Response):
            return records
        results = []
        for record in records:
            key = record.get(key_field)
            existing = next(
                (r for r in self.records.get(sobject, {}).values() if r.get(key_field) == key), None
            )
            results.append(self._write_one(record, sobject, existing))
        await self.held()
        return self._answer(results)

    def _setup_refusal(self, sobject: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """Setup-object rules: unique permission set names; field permissions on real fields of a real set."""
        if self.refuse_setup_objects and sobject in ("PermissionSet", "FieldPermissions"):
            message = "insufficient access rights on cross-reference id"
            return {
                "statusCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                "message": message,
                "fields": [],
            }
        if sobject == "PermissionSet" and any(
            p.get("Name") == record.get("Name") for p in self.records.get("PermissionSet", {}).values()
        ):
            return {"statusCode": "DUPLICATE_DEVELOPER_NAME", "message": "duplicate name", "fields": ["Name"]}
        if sobject != "FieldPermissions":
            return None
        owner, _, name = str(record.get("Field", "")).partition(".")
        if owner != record.get("SobjectType") or name not in self.fields_of(owner):
            message = f"Field: bad value for restricted picklist field: {record.get('Field')}"
            return {
                "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "message": message,
                "fields": ["Field"],
            }
        if str(record.get("ParentId")) not in self.records.get("PermissionSet", {}):
            return {
                "statusCode": "INVALID_CROSS_REFERENCE_KEY",
                "message": "invalid cross reference id",
                "fields": [],
            }
        if any(
            p.get("ParentId") == record["ParentId"] and p.get("Field") == record["Field"]
            for p in self.records.get("FieldPermissions", {}).values()
        ):
            return {"statusCode": "DUPLICATE_VALUE", "message": "duplicate value found: Field", "fields": []}
        return None

    def fields_of(self, sobject: str) -> list[str]:
        """What describe lists: the standard fields plus the custom ones created (Task shows Activity's)."""
        owner = "Activity" if sobject == "Task" else sobject
        return list(STANDARD.get(sobject, {"Id": "id"})) + sorted(self.custom_fields.get(owner, {}))

    async def describe(self, request: Request) -> Response:
        """GET /sobjects/{type}/describe (only ``name`` and ``fields[].name/type`` are filled)."""
        if (refused := self._api(request)) is not None:
            return refused
        sobject = request.path_params["sobject"]
        if sobject not in STANDARD:
            return self._refusal("not_found")
        schema = self.schema(sobject) or {}
        fields = [{"name": f, "type": schema.get(f, "string")} for f in self.fields_of(sobject)]
        return self._answer({"name": sobject, "fields": fields, "createable": True})

    async def create_custom_field(self, request: Request) -> Response:
        """POST /tooling/sobjects/CustomField {FullName: "Contact.X__c", Metadata: {...}} (Tooling API)."""
        if (refused := self._api(request)) is not None:
            return refused
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self._refusal("json_parser", what="the request body: it is not JSON")
        if not isinstance(body, dict) or set(body) - {"FullName", "Metadata"}:
            return self._refusal("json_parser", what="the body: unrecognized field(s)")
        owner, _, name = str(body.get("FullName", "")).partition(".")
        meta = body.get("Metadata") or {}
        if set(meta) - {"label", "type", "length", "precision", "scale", "externalId", "description"}:
            return self._refusal("json_parser", what="Metadata: unrecognized field(s)")
        if not name.endswith("__c") or "type" not in meta:
            return self._answer(
                [{"message": "invalid CustomField", "errorCode": "FIELD_INTEGRITY_EXCEPTION"}], 400
            )
        if name in self.custom_fields.get(owner, {}):
            return self._answer(
                [{"message": "duplicate developer name", "errorCode": "DUPLICATE_DEVELOPER_NAME"}], 400
            )
        self.custom_fields.setdefault(owner, {})[name] = meta
        return self._answer(
            {"id": f"00Nxx{len(self.custom_fields[owner]):010d}", "success": True, "errors": []}, 201
        )

    async def limits(self, request: Request) -> Response:
        """GET /limits: each limit as {Max, Remaining} (DailyApiRequests shown)."""
        if (refused := self._api(request)) is not None:
            return refused
        daily = {"Max": self.api_max, "Remaining": max(self.api_max - self.api_used, 0)}
        return self._answer({"DailyApiRequests": daily})

    # OAuth -----------------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return _error(400, "invalid_client_id", "client identifier invalid")
        return self.redirect_back(q, code=self.new_code(q, host=request.scope["sf_host"]))

    def _body(self, access: str, refresh: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": access,
            "signature": secrets.token_urlsafe(32),
            "scope": " ".join(sorted(self.state.scopes.get(access, frozenset()))),
            "instance_url": f"{self.base}/instance",
            "id": f"{self.base}/id/{ORG_ID}/{USER_ID}",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
        }
        if refresh:
            body["refresh_token"] = refresh
        return body

    def mint(
        self, refresh: str | None = None, with_refresh: bool = True, scopes: Any = None
    ) -> tuple[str, str | None]:
        """As OAuthEmulator, but a refresh token only for a grant with refresh_token / offline_access."""
        granted = self._granted(refresh, scopes)
        access, new = super().mint(refresh, with_refresh and bool(granted & OFFLINE), granted)
        return access, new

    async def token(self, request: Request) -> Response:
        form = form_of(await request.form())
        host = str(request.scope["sf_host"])
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _error(400, "invalid_client", "invalid client credentials")
        if self.throttled():
            return JSONResponse(
                [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
                status_code=503,
                headers={"Retry-After": "3"},
            )
        await self.delay()
        self.state.token_hosts.append(host)
        if form.get("grant_type") == "authorization_code":
            grant = self.take_code(form)
            if grant is None or grant["host"] != host:
                return _error(400, "invalid_grant", "authentication failure")
            access, refresh = self.mint(scopes=scopes_in(grant["scope"]) or None)
            return JSONResponse(self._body(access, refresh))
        if form.get("grant_type") == "refresh_token":
            with self.state.lock:
                token = form.get("refresh_token", "")
                if not self.use_refresh(token):
                    return _error(400, "invalid_grant", "expired access/refresh token")
                access, _ = self.mint(token)
                return JSONResponse(self._body(access, None))  # no refresh token on refresh
        return _error(400, "unsupported_grant_type", "grant type not supported")

    async def revoke(self, request: Request) -> Response:
        token = str((await request.form()).get("token", ""))
        self.revoke_hosts.append(str(request.scope["sf_host"]))
        if token not in self.state.refresh and token not in self.state.access:
            return _error(400, "invalid_token", "invalid token")
        self.state.revoked.append(token)
        self.state.refresh.discard(token)
        self.expire_access()  # revoking the refresh token also revokes its access tokens
        return Response(status_code=200)

    async def identity(self, request: Request) -> Response:
        if not self.access_ok(bearer(request)):
            return Response("Bad_OAuth_Token", status_code=403)
        org, user = request.path_params["org"], request.path_params["user"]
        return JSONResponse(
            {
                "id": f"{self.base}/id/{org}/{user}",
                "organization_id": org,
                "user_id": user,
                "username": "admin@acme.example",
                "display_name": "Acme Admin",
                "urls": {"rest": f"{self.base}/instance/services/data/v{{version}}/"},
            }
        )

    def app(self) -> Starlette:
        data = "/services/data/v{version}"
        app = Starlette(
            routes=[
                Route("/services/oauth2/authorize", self.authorize),
                Route("/services/oauth2/token", self.token, methods=["POST"]),
                Route("/services/oauth2/revoke", self.revoke, methods=["POST"]),
                Route("/id/{org}/{user}", self.identity),
                Route(f"{data}/limits", self.limits),
                Route(f"{data}/limits/", self.limits),
                Route(f"{data}/query", self.query),
                Route(f"{data}/query/", self.query),
                Route(f"{data}/sobjects/{{sobject}}/describe", self.describe),
                Route(f"{data}/sobjects/{{sobject}}/describe/", self.describe),
                Route(f"{data}/tooling/sobjects/CustomField", self.create_custom_field, methods=["POST"]),
                Route(f"{data}/composite/sobjects", self.collection_update, methods=["PATCH"]),
                Route(f"{data}/composite/sobjects", self.collection_create, methods=["POST"]),
                Route(
                    f"{data}/composite/sobjects/{{sobject}}/{{field}}",
                    self.collection_upsert,
                    methods=["PATCH"],
                ),
            ]
        )
        contract.guard(app, contract.load("salesforce"), scopes_of=self.scopes_of, refuse=self.refuse)
        app.add_middleware(_Hosts)  # outermost: the guard sees Salesforce's paths
        return app

    def spec_overrides(self) -> dict[str, Any]:
        return {
            "oauth": {
                "params": {
                    "host": {
                        "default": "login",
                        "choices": {"login": f"{self.base}/login", "test": f"{self.base}/test"},
                        "pattern": r"^[a-z0-9-]+\.my\.salesforce\.com$",
                        "template": f"{self.base}/mydomain/{{}}",
                    }
                }
            }
        }


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _failed(error: dict[str, Any]) -> dict[str, Any]:
    return {"success": False, "errors": [error]}


def _type_of(record: Any) -> str | None:
    attributes = record.get("attributes") if isinstance(record, dict) else None
    found = attributes.get("type") if isinstance(attributes, dict) else None
    return found if isinstance(found, str) and found else None


def _chunks(types: list[str | None]) -> int:
    """How many chunks Salesforce makes: a new one at every change of type ({a, a, c, a} is 3)."""
    return sum(1 for i, t in enumerate(types) if i == 0 or t != types[i - 1])


def _of_type(soap: str, value: Any) -> bool:
    """Whether a JSON value can be deserialized into a field of this SOAP type."""
    if soap in _JSON_TYPES:
        return isinstance(value, _JSON_TYPES[soap]) and (soap == "boolean" or not isinstance(value, bool))
    if soap == "date":
        return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
    if soap == "datetime":
        return isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", value) is not None
    return isinstance(value, str)


_SOQL = re.compile(
    r"SELECT (?P<fields>.+?) FROM (?P<obj>\w+)(?: WHERE (?P<where>.+?))?(?: ORDER BY (?P<order>.+?))?"
    r"(?: LIMIT (?P<limit>\d+))?$",
    re.IGNORECASE,
)
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'|(true|false|null|[\w.-]+)", re.IGNORECASE)


def _kind(request: Request) -> str:
    """What a REST call is, for counting: ``query <sObject>`` or ``<METHOD> <path below the version>``."""
    path = _VERSIONED.split(request.url.path)[-1].rstrip("/")
    if path == "query":
        found = re.search(r"\bFROM\s+(\w+)", request.query_params.get("q", ""), re.IGNORECASE)
        return f"query {found[1] if found else '?'}"
    return f"{request.method} {path}"


def _literals(text: str) -> list[Any]:
    out: list[Any] = []
    for quoted, bare in _LITERAL.findall(text):
        if quoted or not bare:
            out.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            out.append({"true": True, "false": False, "null": None}.get(bare.lower(), bare))
    return out


def _value(records: dict[str, dict[str, dict[str, Any]]], row: dict[str, Any], path: str) -> Any:
    """A field, or a parent's field through a relationship (``Opportunity.IsClosed``)."""
    if "." not in path:
        return row.get(path)
    parent, field = path.split(".", 1)
    return records.get(parent, {}).get(str(row.get(f"{parent}Id")), {}).get(field)


def _known(emu: SalesforceEmulator, sobject: str, path: str) -> None:
    """INVALID_FIELD for a field (or ``Parent.Field``) the object does not have."""
    owner, name = path.split(".", 1) if "." in path else (sobject, path)
    schema = emu.schema(owner) or {}
    if name not in schema or ("." in path and f"{owner}Id" not in (emu.schema(sobject) or {})):
        raise _Refused("no_such_query_column", field=path, sobject=sobject)


def _soql(emu: SalesforceEmulator, q: str) -> list[dict[str, Any]]:
    """Evaluate the small SOQL subset connectors use (EQ / IN joined by AND); unknown names are refused."""
    m = _SOQL.match(q.strip())
    if m is None:
        raise _Refused("malformed_query", detail=f"unexpected query: {q[:200]}")
    if emu.schema(m["obj"]) is None:
        raise _Refused("unknown_type", sobject=m["obj"])
    conditions = re.split(r"\s+AND\s+", m["where"], flags=re.IGNORECASE) if m["where"] else []
    fields = [f.strip() for f in m["fields"].split(",")]
    parsed = [re.match(r"(\S+)\s+(IN|=)\s+(.+)", cond, re.IGNORECASE) for cond in conditions]
    if any(p is None for p in parsed):
        raise _Refused("malformed_query", detail=f"unexpected condition in: {q[:200]}")
    order = [m["order"].split()[0]] if m["order"] else []
    for path in [*fields, *order, *(p[1] for p in parsed if p)]:
        _known(emu, m["obj"], path)
    rows = list(emu.records.get(m["obj"], {}).values())
    for p in parsed:
        field, op, rest = p.groups()  # type: ignore[union-attr]
        wanted = _literals(rest)
        if op.upper() == "IN":
            allowed = {str(w).lower() for w in wanted}
            rows = [r for r in rows if str(_value(emu.records, r, field)).lower() in allowed]
        else:
            rows = [r for r in rows if _value(emu.records, r, field) == wanted[0]]
    rows = rows[: int(m["limit"])] if m["limit"] else rows
    return [{"attributes": {"type": m["obj"]}, **_selected(emu.records, r, fields)} for r in rows]


def _selected(
    records: dict[str, dict[str, dict[str, Any]]], row: dict[str, Any], fields: list[str]
) -> dict[str, Any]:
    """The selected fields; a parent's (``Profile.Name``) nested under the relationship, as the API does."""
    out: dict[str, Any] = {}
    for f in fields:
        if "." in f:
            parent, field = f.split(".", 1)
            out.setdefault(parent, {})[field] = _value(records, row, f)
        else:
            out[f] = row.get(f)
    return out


@contextmanager
def salesforce_emulator() -> Iterator[SalesforceEmulator]:
    """A running Salesforce emulator."""
    with running(SalesforceEmulator()) as emulator:
        yield emulator
