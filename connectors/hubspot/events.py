"""One activity per analysis on each matched contact's and deal's timeline, 100 per call.

Which API: HubSpot closed the v1/v3 timeline events API to apps that do not already define v1/v3 timeline
events ("If your app doesn't include any timeline events yet, requests to this endpoint will fail",
https://developers.hubspot.com/docs/api-reference/legacy/crm/extensions/timeline/v3-event-types-external/create-timeline).
What HubSpot now offers a public app is **app events**: event types declared in the app's developer project
and approved by HubSpot, occurrences POSTed to ``/integrators/timeline/v4/events``
(https://developers.hubspot.com/docs/apps/developer-platform/add-features/app-events/send-event-occurrences).
So: with the mapping's ``app_events`` names, occurrences go to the v4 batch endpoint (hubspot-api-client
12 has no client for it: plain JSON through our session); else, for an app that still has v3 templates
(``event_template_id`` / ``deal_event_template_id``), v3 ``events/batch/create`` through the SDK; else
nothing, and the properties are written either way.

Who said what: a contact's occurrence carries that contact's own figures when the analysis names
speakers (``views``), and every occurrence the ``speakers`` token (the prospect speakers and their scores).

Idempotency: the occurrence id is ``<event id>-<contact id>`` (contacts) or ``<event id>-deal-<deal id>``;
an id HubSpot already has is answered as a CONFLICT error of the batch and counts as done.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from hubspot import HubSpot
from hubspot.crm.timeline import BatchInputTimelineEvent, TimelineEvent

from connectors.hubspot import client
from connectors.hubspot.models import Mapping_
from core.sdk import HttpSession, PermanentError, ProviderSpec
from core.sdk.batching import chunks
from core.sdk.results import ResultView

__all__ = ["Activity", "EVENTS_PER_CALL", "configured", "occurrences", "send"]

EVENTS_PER_CALL = 100
V4_BATCH = "/integrators/timeline/v4/events/batch"
_CONFLICT = "CONFLICT"  # the category of an occurrence id the app already used
PATIENCE = 10.0  # a 429 is waited out in place up to one 10 s window (as the batch path's other calls)


@dataclass(frozen=True)
class Activity:
    """One occurrence to write: on ``kind`` (contacts or deals) ``object_id``, for analysis ``owner``."""

    id: str
    kind: str
    object_id: str
    view: ResultView
    owner: int


def _v3_templates(spec: ProviderSpec) -> dict[str, str]:
    settings = spec.settings
    found = {"contacts": settings.get("event_template_id"), "deals": settings.get("deal_event_template_id")}
    return {k: str(v) for k, v in found.items() if v}


def configured(spec: ProviderSpec, mapping: Mapping_) -> set[str]:
    """The object types that get an activity (app event types first, else legacy v3 templates)."""
    names = {k for k, v in mapping.app_events.items() if v}
    return names or set(_v3_templates(spec))


def occurrences(
    message_id: str,
    view: ResultView,
    owner: int,
    contacts: Sequence[str],
    deals: Sequence[str],
    kinds: set[str],
    views: Mapping[str, ResultView] | None = None,
) -> list[Activity]:
    """The activities of one analysis: one per contact and one per deal whose type is configured; a
    contact's from its own view in ``views`` (its person's figures) when there is one."""
    own = views or {}
    made = [
        Activity(f"{message_id}-{c}", "contacts", c, own.get(c, view), owner)
        for c in contacts
        if "contacts" in kinds
    ]
    made += [Activity(f"{message_id}-deal-{d}", "deals", d, view, owner) for d in deals if "deals" in kinds]
    return made


def _tokens(mapping: Mapping_, view: ResultView) -> dict[str, str]:
    return {t: str(v) for t in mapping.timeline_tokens if (v := view.raw(t)) is not None}


def _v4_input(mapping: Mapping_, a: Activity) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventTypeName": mapping.app_events[a.kind],
        "objectId": a.object_id,
        "id": a.id,
        "properties": _tokens(mapping, a.view),
    }
    if a.view.analysed_at:
        body["timestamp"] = a.view.analysed_at
    return body


def _send_v4(session: HttpSession, spec: ProviderSpec, mapping: Mapping_, part: Sequence[Activity]) -> Any:
    body = {"inputs": [_v4_input(mapping, a) for a in part]}
    return client.post_json(session, spec, V4_BATCH, body, patience=PATIENCE)


def _send_v3(api: HubSpot, spec: ProviderSpec, mapping: Mapping_, part: Sequence[Activity]) -> Any:
    templates = _v3_templates(spec)
    inputs = [
        TimelineEvent(
            event_template_id=templates[a.kind],
            id=a.id,
            object_id=a.object_id,
            tokens=_tokens(mapping, a.view),
        )
        for a in part
    ]
    raw = client.call(
        spec,
        partial(
            api.crm.timeline.events_api.create_batch,
            batch_input_timeline_event=BatchInputTimelineEvent(inputs=inputs),
            _preload_content=False,
        ),
        patience=PATIENCE,
    )
    try:
        return json.loads(raw.data or b"{}") if raw is not None else {}
    except ValueError:
        return {}


def send(
    api: HubSpot, session: HttpSession, spec: ProviderSpec, mapping: Mapping_, activities: Sequence[Activity]
) -> dict[int, PermanentError]:
    """Write ``activities``; the analyses (``owner``) whose occurrences HubSpot refused, with the error."""
    v4 = any(mapping.app_events.values())
    failed: dict[int, PermanentError] = {}
    for part in chunks(list(activities), EVENTS_PER_CALL):
        answer = _send_v4(session, spec, mapping, part) if v4 else _send_v3(api, spec, mapping, part)
        for owner, exc in _refused(answer if isinstance(answer, Mapping) else {}, part).items():
            failed.setdefault(owner, exc)
    return failed


def _refused(answer: Mapping[str, Any], part: Sequence[Activity]) -> dict[int, PermanentError]:
    """The owners of occurrences a 207 Multi-Status refused, except ids HubSpot already has."""
    by_id = {a.id: a for a in part}
    failed: dict[int, PermanentError] = {}
    for error in answer.get("errors") or []:
        if error.get("category") == _CONFLICT:
            continue
        ids = [i for values in (error.get("context") or {}).values() for i in values if i in by_id]
        code = str(error.get("category", "event_refused"))
        exc = PermanentError(client.VENDOR, code, str(error.get("message", ""))[:200])
        for a in [by_id[i] for i in ids] or list(part):  # unattributed: the whole call's analyses retry
            failed.setdefault(a.owner, exc)
    return failed
