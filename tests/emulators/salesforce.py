"""A stateful Salesforce OAuth emulator: the web server flow with PKCE on several login hosts (production,
sandbox, My Domain, served here as path prefixes), refresh, revoke, the identity URL, and one REST call.

Wire format after the Salesforce help pages "OAuth 2.0 Web Server Flow", "OAuth 2.0 Refresh Token Flow" and
"Revoke OAuth Tokens": token answers carry ``access_token, refresh_token (code grant only), signature, scope,
instance_url, id, token_type, issued_at`` and no ``expires_in``; errors ``{"error": "invalid_grant",
"error_description": "expired access/refresh token"}``; an invalid session makes the REST API answer 401
``[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]``.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.emulators.oauth import OAuthEmulator, bearer, form_of, running

CLIENT_ID = "3MVG9sf-consumer-key"
CLIENT_SECRET = "sf-consumer-secret-do-not-log"
ORG_ID = "00Dxx0000001gEREAY"
USER_ID = "005xx000001Sv6AAAS"
MY_DOMAIN = "acme.my.salesforce.com"


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


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
        self.missing_fields: dict[str, set[str]] = {}  # custom fields the org lacks (INVALID_FIELD)
        self.after_next_query: dict[str, dict[str, Any]] = {}  # {sObject: fields} added after a query on it
        self.custom_fields: dict[str, dict[str, Any]] = {}  # owner (Activity for Task) → name → metadata
        self.kinds: Counter[str] = Counter()  # REST calls by kind, e.g. "query Task"
        self.limited = 0  # calls refused with REQUEST_LIMIT_EXCEEDED
        self.required = {"Lead": ("LastName", "Company"), "Contact": ("LastName",)}  # required on create
        self.required |= {"PermissionSet": ("Name", "Label"), "FieldPermissions": ("ParentId", "Field")}
        self.refuse_setup_objects = False  # the integration user may not manage permission sets

    def add(self, sobject: str, **fields: Any) -> str:
        """Store a record; returns its 18-character-style id."""
        prefixes = {"Contact": "003", "Lead": "00Q", "Opportunity": "006", "Task": "00T", "Profile": "00e"}
        prefixes |= {"PermissionSet": "0PS", "FieldPermissions": "01k"}
        prefix = prefixes.get(sobject, "a00")
        record_id = f"{prefix}xx{len(self.records.get(sobject, {})) + 1:013d}"
        if sobject == "Lead":
            fields.setdefault("IsConverted", False)  # a new Lead is unconverted
        self.records.setdefault(sobject, {})[record_id] = {"Id": record_id, **fields}
        return record_id

    def _api(self, request: Request) -> JSONResponse | None:
        """Count the call (by kind too); 401 INVALID_SESSION_ID for a dead session; 403
        REQUEST_LIMIT_EXCEEDED once the org's API request limit is spent (the limit rolls over 24 h:
        https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm)."""
        self.api_calls.append(f"{request.method} {request.url.path.split('/v62.0/')[-1]}")
        self.kinds[_kind(request)] += 1
        if not self.access_ok(bearer(request)):
            body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            return JSONResponse(body, status_code=401)
        if self.api_used >= self.api_max:
            self.limited += 1
            body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
            return self._answer(body, 403)
        self.api_used += 1
        return None

    def _answer(self, body: Any, status: int = 200) -> JSONResponse:
        """Every REST answer carries the org's usage (Sforce-Limit-Info)."""
        return JSONResponse(
            body, status, headers={"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_max}"}
        )

    async def query(self, request: Request) -> Response:
        """GET /query?q=SOQL for the SELECT … FROM … WHERE a = x AND b IN (…) [ORDER BY …] [LIMIT n] shape."""
        if (refused := self._api(request)) is not None:
            return refused
        try:
            found = _soql(self.records, request.query_params.get("q", ""))
        except ValueError as exc:
            return self._answer([{"message": str(exc), "errorCode": "MALFORMED_QUERY"}], 400)
        answer = self._answer({"totalSize": len(found), "done": True, "records": found})
        for sobject in list(self.after_next_query):
            if f"FROM {sobject} " in request.query_params.get("q", ""):
                self.add(sobject, **self.after_next_query.pop(sobject))
        return answer

    def _write_one(
        self, record: dict[str, Any], sobject: str, existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        fields = {k: v for k, v in record.items() if k != "attributes"}
        refused = set(fields) & self.create_only.get(sobject, set()) if existing is not None else set()
        if refused:
            msg = f"Unable to create/update fields: {', '.join(sorted(refused))}."
            return {
                "success": False,
                "errors": [{"statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "message": msg}],
            }
        if existing is None:
            record_id = self.add(sobject, **fields)
            return {"id": record_id, "success": True, "errors": [], "created": True}
        existing.update(fields)
        return {"id": existing["Id"], "success": True, "errors": [], "created": False}

    async def collection_update(self, request: Request) -> Response:
        """PATCH /composite/sobjects: update up to 200 records of any types."""
        if (refused := self._api(request)) is not None:
            return refused
        body = await request.json()
        if len(body.get("records") or []) > 200:
            return self._answer([{"message": "too many records", "errorCode": "EXCEEDED_ID_LIMIT"}], 400)
        results = []
        for record in body["records"]:
            sobject = record["attributes"]["type"]
            existing = self.records.get(sobject, {}).get(record.get("Id", ""))
            if existing is None:
                results.append(
                    {
                        "success": False,
                        "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}],
                    }
                )
                continue
            unknown = [
                k for k in record if k.endswith("__c") and k in self.missing_fields.get(sobject, set())
            ]
            if unknown:
                err = {
                    "statusCode": "INVALID_FIELD",
                    "message": f"No such column '{unknown[0]}' on sobject of type {sobject}",
                }
                results.append({"success": False, "errors": [err]})
                continue
            results.append(self._write_one({k: v for k, v in record.items() if k != "Id"}, sobject, existing))
        return self._answer(results)

    async def collection_create(self, request: Request) -> Response:
        """POST /composite/sobjects: create up to 200 records; a Lead needs LastName and Company.

        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm
        """
        if (refused := self._api(request)) is not None:
            return refused
        records = (await request.json()).get("records") or []
        if len(records) > 200:
            return self._answer([{"message": "too many records", "errorCode": "EXCEEDED_ID_LIMIT"}], 400)
        results = []
        for record in records:
            sobject = record["attributes"]["type"]
            lacking = [f for f in self.required.get(sobject, ()) if not record.get(f)]
            if "Id" in record or lacking:
                message = f"Required fields are missing: [{', '.join(lacking)}]" if lacking else "Id given"
                error = {"statusCode": "REQUIRED_FIELD_MISSING", "message": message, "fields": lacking}
                results.append({"success": False, "errors": [error]})
                continue
            refusal = self._refusal(sobject, record)
            results.append(
                {"success": False, "errors": [refusal]} if refusal else self._write_one(record, sobject, None)
            )
        return self._answer(results)

    def _refusal(self, sobject: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """Setup-object rules: unique permission set names; field permissions on real fields of a real set."""
        if self.refuse_setup_objects and sobject in ("PermissionSet", "FieldPermissions"):
            message = "insufficient access rights on cross-reference id"
            return {"statusCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "message": message}
        if sobject == "PermissionSet" and any(
            p.get("Name") == record.get("Name") for p in self.records.get("PermissionSet", {}).values()
        ):
            return {"statusCode": "DUPLICATE_DEVELOPER_NAME", "message": "duplicate name"}
        if sobject != "FieldPermissions":
            return None
        owner, _, name = str(record.get("Field", "")).partition(".")
        if owner != record.get("SobjectType") or name not in self.fields_of(owner):
            message = f"Field: bad value for restricted picklist field: {record.get('Field')}"
            return {"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": message}
        if str(record.get("ParentId")) not in self.records.get("PermissionSet", {}):
            return {"statusCode": "INVALID_CROSS_REFERENCE_KEY", "message": "invalid cross reference id"}
        if any(
            p.get("ParentId") == record["ParentId"] and p.get("Field") == record["Field"]
            for p in self.records.get("FieldPermissions", {}).values()
        ):
            return {"statusCode": "DUPLICATE_VALUE", "message": "duplicate value found: Field"}
        return None

    def fields_of(self, sobject: str) -> list[str]:
        """Standard fields plus the custom ones the org has (Task shows Activity's)."""
        standard = {
            "Contact": ["Id", "Email", "FirstName", "LastName", "AccountId"],
            "Lead": ["Id", "Email", "IsConverted", "FirstName", "LastName", "Company", "LeadSource"],
            "Opportunity": ["Id", "Name", "IsClosed", "StageName"],
            "Task": [
                "Id",
                "WhoId",
                "WhatId",
                "Subject",
                "Description",
                "TaskSubtype",
                "Status",
                "ActivityDate",
            ],
        }.get(sobject, ["Id"])
        owner = "Activity" if sobject == "Task" else sobject
        return standard + sorted(self.custom_fields.get(owner, {}))

    async def describe(self, request: Request) -> Response:
        """GET /sobjects/{type}/describe (only ``name`` and ``fields[].name/type`` are filled)."""
        if (refused := self._api(request)) is not None:
            return refused
        sobject = request.path_params["sobject"]
        fields = [{"name": f, "type": "string"} for f in self.fields_of(sobject)]
        return self._answer({"name": sobject, "fields": fields, "createable": True})

    async def create_custom_field(self, request: Request) -> Response:
        """POST /tooling/sobjects/CustomField {FullName: "Contact.X__c", Metadata: {...}}."""
        if (refused := self._api(request)) is not None:
            return refused
        body = await request.json()
        owner, _, name = str(body.get("FullName", "")).partition(".")
        if not name.endswith("__c") or "type" not in (body.get("Metadata") or {}):
            return self._answer(
                [{"message": "invalid CustomField", "errorCode": "FIELD_INTEGRITY_EXCEPTION"}], 400
            )
        if name in self.custom_fields.get(owner, {}):
            return self._answer(
                [{"message": "duplicate developer name", "errorCode": "DUPLICATE_DEVELOPER_NAME"}], 400
            )
        self.custom_fields.setdefault(owner, {})[name] = body["Metadata"]
        return self._answer(
            {"id": f"00Nxx{len(self.custom_fields[owner]):010d}", "success": True, "errors": []}, 201
        )

    async def collection_upsert(self, request: Request) -> Response:
        """PATCH /composite/sobjects/{type}/{externalIdField}: upsert up to 200 records on an External ID."""
        if (refused := self._api(request)) is not None:
            return refused
        sobject, key_field = request.path_params["sobject"], request.path_params["field"]
        results = []
        for record in (await request.json())["records"]:
            key = record.get(key_field)
            existing = next(
                (r for r in self.records.get(sobject, {}).values() if r.get(key_field) == key), None
            )
            results.append(self._write_one(record, sobject, existing))
        await self.held()
        return self._answer(results)

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return _error(400, "invalid_client_id", "client identifier invalid")
        return self.redirect_back(q, code=self.new_code(q, host=request.path_params["host"]))

    def _body(self, access: str, refresh: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": access,
            "signature": secrets.token_urlsafe(32),
            "scope": "refresh_token api",
            "instance_url": f"{self.base}/instance",
            "id": f"{self.base}/id/{ORG_ID}/{USER_ID}",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
        }
        if refresh:
            body["refresh_token"] = refresh
        return body

    async def token(self, request: Request) -> Response:
        form = form_of(await request.form())
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _error(400, "invalid_client", "invalid client credentials")
        if self.throttled():
            return JSONResponse(
                [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
                status_code=503,
                headers={"Retry-After": "3"},
            )
        await self.delay()
        self.state.token_hosts.append(request.path_params["host"])
        if form.get("grant_type") == "authorization_code":
            grant = self.take_code(form)
            if grant is None or grant["host"] != request.path_params["host"]:
                return _error(400, "invalid_grant", "authentication failure")
            access, refresh = self.mint()
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
        self.revoke_hosts.append(request.path_params["host"])
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

    async def limits(self, request: Request) -> Response:
        if not self.access_ok(bearer(request)):
            return JSONResponse(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                status_code=401,
            )
        body = {"DailyApiRequests": {"Max": 15000, "Remaining": 14998}}
        return JSONResponse(body, headers={"Sforce-Limit-Info": "api-usage=2/15000"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{host:path}/services/oauth2/authorize", self.authorize),
                Route("/{host:path}/services/oauth2/token", self.token, methods=["POST"]),
                Route("/{host:path}/services/oauth2/revoke", self.revoke, methods=["POST"]),
                Route("/id/{org}/{user}", self.identity),
                Route("/instance/services/data/v62.0/limits", self.limits),
                Route("/instance/services/data/v62.0/query", self.query),
                Route("/instance/services/data/v62.0/sobjects/{sobject}/describe", self.describe),
                Route("/instance/services/data/v62.0/sobjects/{sobject}/describe/", self.describe),
                Route(
                    "/instance/services/data/v62.0/tooling/sobjects/CustomField",
                    self.create_custom_field,
                    methods=["POST"],
                ),
                Route("/instance/services/data/v62.0/query/", self.query),
                Route(
                    "/instance/services/data/v62.0/composite/sobjects",
                    self.collection_update,
                    methods=["PATCH"],
                ),
                Route(
                    "/instance/services/data/v62.0/composite/sobjects",
                    self.collection_create,
                    methods=["POST"],
                ),
                Route(
                    "/instance/services/data/v62.0/composite/sobjects/{sobject}/{field}",
                    self.collection_upsert,
                    methods=["PATCH"],
                ),
            ]
        )

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


_SOQL = re.compile(
    r"SELECT (?P<fields>.+?) FROM (?P<obj>\w+)(?: WHERE (?P<where>.+?))?(?: ORDER BY (?P<order>.+?))?"
    r"(?: LIMIT (?P<limit>\d+))?$",
    re.IGNORECASE,
)
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'|(true|false|null|[\w.-]+)", re.IGNORECASE)


def _kind(request: Request) -> str:
    """What a REST call is, for counting: ``query <sObject>`` or ``<METHOD> <path below the version>``."""
    path = request.url.path.split("/v62.0/")[-1].rstrip("/")
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


def _soql(records: dict[str, dict[str, dict[str, Any]]], q: str) -> list[dict[str, Any]]:
    """Evaluate the small SOQL subset connectors use (EQ / IN joined by AND)."""
    m = _SOQL.match(q.strip())
    if m is None:
        raise ValueError(f"unexpected query: {q}")
    rows = list(records.get(m["obj"], {}).values())
    for cond in re.split(r"\s+AND\s+", m["where"] or "", flags=re.IGNORECASE) if m["where"] else []:
        field, op, rest = re.match(r"(\S+)\s+(IN|=)\s+(.+)", cond, re.IGNORECASE).groups()  # type: ignore[union-attr]
        wanted = _literals(rest)
        if op.upper() == "IN":
            allowed = {str(w).lower() for w in wanted}
            rows = [r for r in rows if str(_value(records, r, field)).lower() in allowed]
        else:
            rows = [r for r in rows if _value(records, r, field) == wanted[0]]
    rows = rows[: int(m["limit"])] if m["limit"] else rows
    fields = [f.strip() for f in m["fields"].split(",")]
    attrs = {"type": m["obj"]}
    return [{"attributes": attrs, **_selected(records, r, fields)} for r in rows]


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
