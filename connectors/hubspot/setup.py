"""``echodepth connectors setup hubspot``: check the mapped properties exist and create what is missing.

Properties and their group are created through the CRM properties API
(https://developers.hubspot.com/docs/api/crm/properties). The timeline event template belongs to the app and
needs its developer API key (``hapikey``) and app id
(https://developers.hubspot.com/docs/api-reference/crm-timeline-v3/templates), and HubSpot serves it only to
apps that already have v1/v3 timeline events: with both configured, setup reuses or creates the app's
contact and deal templates ("EchoDepth analysis", "EchoDepth analysis (deal)") and returns their ids under
``settings`` (``event_template_id``, ``deal_event_template_id``). A new app gets the app-events admin step
instead (``connectors.hubspot.events``); a mapping with ``app_events`` names needs no template.
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
from core.sdk import AuthError, HttpSession, PermanentError, ProviderSpec
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


def _ensure_group(
    api: HubSpot, spec: ProviderSpec, kind: str, group: dict[str, str], report: dict[str, list[str]]
) -> None:
    page = client.call(spec, partial(api.crm.properties.groups_api.get_all, kind))
    names = {g.name for g in getattr(page, "results", None) or []}
    if group["name"] in names:
        return
    body = PropertyGroupCreate(name=group["name"], label=group.get("label", group["name"]))
    client.call(spec, partial(api.crm.properties.groups_api.create, kind, property_group_create=body))
    report["created"].append(f"{kind} property group {group['name']}")


TEMPLATE_NAME = "EchoDepth analysis"
_NUMBER = float | None
# the connection setting that keeps each legacy v3 template's id, by the object type it is for
TEMPLATE_SETTINGS = {"contacts": "event_template_id", "deals": "deal_event_template_id"}
APP_EVENTS_PAGE = (
    "https://developers.hubspot.com/docs/apps/developer-platform/add-features/app-events/overview"
)


def _template_body(mapping: Mapping_, kind: str) -> dict[str, Any]:
    """The app's v3 timeline event template for ``kind``: one typed token per ``timeline_tokens`` entry."""
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
        "name": TEMPLATE_NAME if kind == "contacts" else f"{TEMPLATE_NAME} (deal)",
        "headerTemplate": "EchoDepth analysis: Trust Score {{trust_score}}",
        "detailTemplate": "Valence {{valence}}, arousal {{arousal}}, dominance {{dominance}}; {{link}}",
        "objectType": kind,
        "tokens": tokens,
    }


def _app_events_step() -> str:
    return (
        "HubSpot opens the v3 timeline API only to apps that already have v1/v3 timeline events: "
        "for a new app, apply for app events, declare event types for CONTACT and DEAL in the app's "
        "project and store their "
        'fullyQualifiedNames with PUT /v1/connections/{id}/mapping {"mapping": {"app_events": {"contacts": '
        f'..., "deals": ...}}}} ({APP_EVENTS_PAGE}); until then only the properties are written'
    )


def _template_request(mapping: Mapping_) -> str:
    return (
        _app_events_step() + ". An app that already has v3 timeline events: set ECHODEPTH_HUBSPOT_APP_ID and "
        "ECHODEPTH_HUBSPOT_DEVELOPER_API_KEY and run setup again, or create its templates with the developer "
        "API key (POST /integrators/timeline/v3/<appId>/event-templates?hapikey=<key>) and store their ids "
        "as event_template_id / deal_event_template_id: "
        + " ".join(json.dumps(_template_body(mapping, k)) for k in TEMPLATE_SETTINGS)
    )


def _ensure_events(
    session: HttpSession, spec: ProviderSpec, mapping: Mapping_, create: bool, report: dict[str, list[str]]
) -> None:
    """App event types when the mapping names them; else the legacy v3 templates (created once each)."""
    if any(mapping.app_events.values()):
        report["present"] += [f"app event type {k}: {v}" for k, v in mapping.app_events.items() if v]
        return
    wanted = {k: s for k, s in TEMPLATE_SETTINGS.items() if not spec.settings.get(s)}
    report["present"] += [
        f"timeline event template {spec.settings[s]}" for k, s in TEMPLATE_SETTINGS.items() if k not in wanted
    ]
    if not wanted:
        return
    app_id = session.credentials.extra.get("app_id")
    key = session.credentials.extra.get("developer_api_key")
    if not app_id or not key:
        report["manual"].append(_template_request(mapping))
        return
    if not create:
        report["missing"] += [f"timeline event template ({k}) of app {app_id}" for k in wanted]
        return
    templates = client.connect(session, spec, api_key=key).crm.timeline.templates_api
    try:
        _legacy_templates(templates, spec, app_id, mapping, wanted, report)
    except AuthError:  # a bad developer key is not the connection's token: no refresh, tell the admin
        report["manual"].append(
            f"HubSpot refused the developer API key of app {app_id}: check "
            "ECHODEPTH_HUBSPOT_DEVELOPER_API_KEY and ECHODEPTH_HUBSPOT_APP_ID"
        )
    except PermanentError:  # the app has no v1/v3 timeline events: HubSpot refuses it the v3 API
        report["manual"].append(_app_events_step())


def _legacy_templates(
    templates: Any,
    spec: ProviderSpec,
    app_id: str,
    mapping: Mapping_,
    wanted: dict[str, str],
    report: dict[str, list[str]],
) -> None:
    """Reuse or create the app's v3 template of each wanted object type; their ids go to ``settings``."""
    page = client.call(spec, partial(templates.get_all, app_id))
    have = {(t.name, t.object_type): t for t in getattr(page, "results", None) or []}
    for kind, setting in wanted.items():
        body = _template_body(mapping, kind)
        found = have.get((body["name"], kind))
        if found is None:
            request = TimelineEventTemplateCreateRequest(**_snake(body))
            found = client.call(
                spec, partial(templates.create, app_id, timeline_event_template_create_request=request)
            )
            report["created"].append(f"timeline event template {getattr(found, 'id', '')}")
        else:
            report["present"].append(f"timeline event template {found.id}")
        report.setdefault("settings", []).append(f"{setting}={getattr(found, 'id', '')}")


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
    api = client.connect(session, spec)
    report: dict[str, list[str]] = {"present": [], "created": [], "missing": [], "manual": []}
    group = mapping.group or {"name": "echodepth", "label": "EchoDepth"}
    for kind, rules in (("contacts", mapping.contacts), ("deals", mapping.deals)):
        page = client.call(spec, partial(api.crm.properties.core_api.get_all, kind))
        have = {p.name for p in getattr(page, "results", None) or []}
        missing = {n: r for n, r in rules.items() if n not in have}
        report["present"] += [f"{kind}.{n}" for n in rules if n in have]
        if not missing:
            continue
        if not create:
            report["missing"] += [f"{kind}.{n} ({r.type})" for n, r in missing.items()]
            continue
        _ensure_group(api, spec, kind, group, report)
        inputs = [_property(n, r, group["name"]) for n, r in missing.items()]
        client.call(
            spec,
            partial(
                api.crm.properties.batch_api.create,
                kind,
                batch_input_property_create=BatchInputPropertyCreate(inputs=inputs),
            ),
        )
        report["created"] += [f"{kind}.{n}" for n in missing]
    _ensure_events(session, spec, mapping, create, report)
    return report
