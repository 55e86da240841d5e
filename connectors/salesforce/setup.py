"""``echodepth connectors setup salesforce``: check the mapped custom fields exist (``describe``) and create
the missing ones through the Tooling API ``CustomField`` object.

https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/tooling_api_objects_customfield.htm
New fields are invisible until field-level security grants them: setup grants read and edit on every
mapped field to a permission set (``EchoDepth_Fields``) and any configured profiles (``permissions``), and
prints the steps for the admin when the org does not let the integration user do it.
Task custom fields live on the Activity object (shared by Task and Event).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from simple_salesforce import Salesforce

from connectors.salesforce import client, permissions
from connectors.salesforce.models import FieldRule, SalesforceMapping
from core.sdk import HttpSession, ProviderSpec

__all__ = ["setup"]

_TEXT_LENGTH = 255
_KEY_LENGTH = 80


def _metadata(rule: FieldRule) -> dict[str, Any]:
    meta: dict[str, Any] = {"label": rule.label or "EchoDepth", "type": rule.type}
    if rule.type == "Number":
        meta.update(precision=18, scale=rule.round or 0)
    elif rule.type == "Text":
        meta["length"] = _TEXT_LENGTH
    return meta


def _wanted(mapping: SalesforceMapping) -> list[tuple[str, str, dict[str, Any]]]:
    """(sObject described, field name, CustomField FullName + Metadata) for every mapped field."""
    found = [
        (sobject, name, {"FullName": f"{sobject}.{name}", "Metadata": _metadata(rule)})
        for sobject in ("Contact", "Lead", "Opportunity")
        for name, rule in mapping.fields(sobject).items()
    ]
    key = mapping.task.get("external_id_field", "EchoDepth_Key__c")
    meta = {"label": "EchoDepth Key", "type": "Text", "length": _KEY_LENGTH, "externalId": True}
    return [*found, ("Task", key, {"FullName": f"Activity.{key}", "Metadata": meta})]


def _fields(sf: Salesforce, conn: client.Connection, sobject: str) -> set[str]:
    described = client.call(conn, lambda: getattr(sf, sobject).describe())
    return {str(f["name"]) for f in described.get("fields", [])}


def setup(
    session: HttpSession, spec: ProviderSpec, mapping: SalesforceMapping, create: bool
) -> dict[str, list[str]]:
    """What exists, what was created and what an admin must still do."""
    sf, conn = client.connect(session, spec)
    report: dict[str, list[str]] = {"present": [], "created": [], "missing": [], "manual": []}
    described: dict[str, set[str]] = {}
    for sobject, name, body in _wanted(mapping):
        have = described.setdefault(sobject, _fields(sf, conn, sobject))
        label = f"{sobject}.{name}"
        if name in have:
            report["present"].append(label)
        elif not create:
            report["missing"].append(f"{label} ({body['Metadata']['type']})")
        else:
            client.call(conn, partial(sf.toolingexecute, "sobjects/CustomField", method="POST", data=body))
            report["created"].append(label)
    if create:
        fields = [*report["present"], *report["created"]]  # Object.Field__c, Task's as Task
        permissions.grant(sf, conn, fields, spec.settings.get("field_permissions") or {}, report)
    return report
