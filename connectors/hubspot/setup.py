"""``echodepth connectors setup hubspot``: check the mapped properties exist and create what is missing.

Properties and their group are created through the CRM properties API
(https://developers.hubspot.com/docs/api/crm/properties). The timeline event template belongs to the app and
needs its developer API key (``hapikey``) and app id
(https://developers.hubspot.com/docs/api-reference/crm-timeline-v3/templates): with both configured, setup
reuses the app's template named "EchoDepth analysis" or creates it, and returns its id under ``settings`` for
core to store as the connection's ``event_template_id``; without them it prints the exact request.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from hubspot import HubSpot
from hubspot.crm.properties import BatchInputPropertyCreate, PropertyCreate, PropertyGroupCreate
from hubspot.crm.timeline import TimelineEventTemplateCreateRequest, TimelineEventTemplateToken

from connectors.hubspot import client
from connectors.hubspot.models import Mapping_, PropertyRule
from core.sdk import AuthError, HttpSession, ProviderSpec
from core.sdk.results import ResultView

__all__ = ["setup", "FIELD_TYPES"]

# HubSpot property type → the form field type it is shown with
FIELD_TYPES = {"number": "number", "enumeration": "select", "datetime": "date", "string": "text"}


def _property(name: str, rule: PropertyRule, group: str) -> PropertyCreate:
    options = [
        {"label": o, "value": o, "hidden": False, "displayOrder": i} for i, o in enumerate(rule.options)
    ]
    return PropertyCreate(
        name=name,
        label=rule.label or name,
        type=rule.type,
        field_type=FIELD_TYPES.get(rule.type, "text"),
        group_name=group,
        options=options or None,
    )


def _ensure_group(api: HubSpot, kind: str, group: dict[str, str], report: dict[str, list[str]]) -> None:
    page = client.call(partial(api.crm.properties.groups_api.get_all, kind))
    names = {g.name for g in getattr(page, "results", None) or []}
    if group["name"] in names:
        return
    body = PropertyGroupCreate(name=group["name"], label=group.get("label", group["name"]))
    client.call(partial(api.crm.properties.groups_api.create, kind, property_group_create=body))
    report["created"].append(f"{kind} property group {group['name']}")


TEMPLATE_NAME = "EchoDepth analysis"
_NUMBER = float | None


def _template_body(mapping: Mapping_) -> dict[str, Any]:
    """The app's timeline event template: one typed token per ``timeline_tokens`` entry."""
    fields = ResultView.model_fields
    tokens = [
        {
            "name": t,
            "label": t.replace("_", " "),
            "type": "number" if t in fields and fields[t].annotation == _NUMBER else "string",
        }
        for t in mapping.timeline_tokens
    ]
    return {
        "name": TEMPLATE_NAME,
        "headerTemplate": "EchoDepth analysis: Trust Score {{trust_score}}",
        "detailTemplate": "Valence {{valence}}, arousal {{arousal}}, dominance {{dominance}}; {{link}}",
        "objectType": "contacts",
        "tokens": tokens,
    }


def _template_request(mapping: Mapping_) -> str:
    return (
        "set ECHODEPTH_HUBSPOT_APP_ID and ECHODEPTH_HUBSPOT_DEVELOPER_API_KEY and run setup again, or create "
        "the timeline event template with the app's developer API key and store its id with "
        'PUT /v1/connections/{id}/mapping {"event_template_id": ...}: '
        "POST /integrators/timeline/v3/<appId>/event-templates?hapikey=<key> "
        + json.dumps(_template_body(mapping))
    )


def _ensure_template(
    session: HttpSession, spec: ProviderSpec, mapping: Mapping_, create: bool, report: dict[str, list[str]]
) -> None:
    """Create the app's event template once (an existing one with our name is reused) and keep its id."""
    if spec.settings.get("event_template_id"):
        report["present"].append(f"timeline event template {spec.settings['event_template_id']}")
        return
    app_id = session.credentials.extra.get("app_id")
    key = session.credentials.extra.get("developer_api_key")
    if not app_id or not key:
        report["manual"].append(_template_request(mapping))
        return
    if not create:
        report["missing"].append(f"timeline event template of app {app_id}")
        return
    base = spec.api_base_url or "https://api.hubapi.com"
    templates = client.connect(session, base, spec.timeout_seconds, api_key=key).crm.timeline.templates_api
    try:
        page = client.call(partial(templates.get_all, app_id))
    except AuthError:  # a bad developer key is not the connection's token: no refresh, tell the admin
        report["manual"].append(
            f"HubSpot refused the developer API key of app {app_id}: check "
            "ECHODEPTH_HUBSPOT_DEVELOPER_API_KEY and ECHODEPTH_HUBSPOT_APP_ID"
        )
        return
    found = next((t for t in getattr(page, "results", None) or [] if t.name == TEMPLATE_NAME), None)
    if found is None:
        body = TimelineEventTemplateCreateRequest(**_snake(_template_body(mapping)))
        found = client.call(partial(templates.create, app_id, timeline_event_template_create_request=body))
        report["created"].append(f"timeline event template {getattr(found, 'id', '')}")
    else:
        report["present"].append(f"timeline event template {found.id}")
    report["settings"] = [f"event_template_id={getattr(found, 'id', '')}"]


def _snake(body: dict[str, Any]) -> dict[str, Any]:
    """The create request's keyword names (the SDK model takes snake_case)."""
    tokens = [TimelineEventTemplateToken(**t) for t in body["tokens"]]
    return {
        "name": body["name"],
        "header_template": body["headerTemplate"],
        "detail_template": body["detailTemplate"],
        "object_type": body["objectType"],
        "tokens": tokens,
    }


def setup(session: HttpSession, spec: ProviderSpec, mapping: Mapping_, create: bool) -> dict[str, list[str]]:
    """What exists, what was created and what an admin must still do."""
    api = client.connect(session, spec.api_base_url or "https://api.hubapi.com", spec.timeout_seconds)
    report: dict[str, list[str]] = {"present": [], "created": [], "missing": [], "manual": []}
    group = mapping.group or {"name": "echodepth", "label": "EchoDepth"}
    for kind, rules in (("contacts", mapping.contacts), ("deals", mapping.deals)):
        page = client.call(partial(api.crm.properties.core_api.get_all, kind))
        have = {p.name for p in getattr(page, "results", None) or []}
        missing = {n: r for n, r in rules.items() if n not in have}
        report["present"] += [f"{kind}.{n}" for n in rules if n in have]
        if not missing:
            continue
        if not create:
            report["missing"] += [f"{kind}.{n} ({r.type})" for n, r in missing.items()]
            continue
        _ensure_group(api, kind, group, report)
        inputs = [_property(n, r, group["name"]) for n, r in missing.items()]
        client.call(
            partial(
                api.crm.properties.batch_api.create,
                kind,
                batch_input_property_create=BatchInputPropertyCreate(inputs=inputs),
            )
        )
        report["created"] += [f"{kind}.{n}" for n in missing]
    _ensure_template(session, spec, mapping, create, report)
    return report
