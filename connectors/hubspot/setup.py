"""``echodepth connectors setup hubspot``: check the mapped properties exist and create what is missing.

Properties and their group are created through the CRM properties API
(https://developers.hubspot.com/docs/api/crm/properties). The timeline event template belongs to the app and
needs its developer API key, so setup prints the exact request for it instead.
"""

from __future__ import annotations

import json
from functools import partial

from hubspot import HubSpot
from hubspot.crm.properties import BatchInputPropertyCreate, PropertyCreate, PropertyGroupCreate

from connectors.hubspot import client
from connectors.hubspot.models import Mapping_, PropertyRule
from core.sdk import HttpSession, ProviderSpec

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


def _template_request(spec: ProviderSpec, mapping: Mapping_) -> str:
    tokens = [{"name": t, "label": t.replace("_", " "), "type": "string"} for t in mapping.timeline_tokens]
    body = {
        "name": "EchoDepth analysis",
        "headerTemplate": "EchoDepth analysis: Trust Score {{trust_score}}",
        "detailTemplate": "Valence {{valence}}, arousal {{arousal}}, dominance {{dominance}}; {{link}}",
        "objectType": "contacts",
        "tokens": tokens,
    }
    return (
        "create the timeline event template with the app's developer API key, then store its id with "
        'PUT /v1/connections/{id}/mapping {"event_template_id": ...}: '
        f"POST /integrators/timeline/v3/<appId>/event-templates {json.dumps(body)}"
    )


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
    if not spec.settings.get("event_template_id"):
        report["manual"].append(_template_request(spec, mapping))
    return report
