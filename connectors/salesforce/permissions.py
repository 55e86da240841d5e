"""Field-level security for the EchoDepth custom fields: read and edit granted through a permission set
(and, when configured, through profiles), with the REST sObjects ``PermissionSet`` and ``FieldPermissions``.

https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_fieldpermissions.htm
A profile's field permissions belong to the permission set the profile owns (``IsOwnedByProfile``). Setup
assigns the permission set to nobody: who gets it stays the admin's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from simple_salesforce import Salesforce, format_soql

from connectors.salesforce import client
from core.sdk import AuthError, PermanentError

__all__ = ["grant", "DEFAULT_PERMISSION_SET"]

DEFAULT_PERMISSION_SET = "EchoDepth_Fields"
_BATCH = 200  # sObject Collections take at most 200 records per call


def _rows(sf: Salesforce, conn: client.Connection, soql: str) -> list[dict[str, Any]]:
    return list(client.call(conn, lambda: sf.query_all(soql)).get("records", []))


def _create(sf: Salesforce, conn: client.Connection, records: list[dict[str, Any]]) -> list[str]:
    """POST sObject Collections; the new ids; a refused record is a PermanentError."""
    ids: list[str] = []
    for i in range(0, len(records), _BATCH):
        body = {"allOrNone": False, "records": records[i : i + _BATCH]}
        for result in (
            client.call(conn, partial(sf.restful, "composite/sobjects", method="POST", json=body)) or []
        ):
            if not result.get("success"):
                err = (result.get("errors") or [{}])[0]
                code, message = str(err.get("statusCode", "create_failed")), str(err.get("message", ""))
                raise PermanentError(client.VENDOR, code, message[:200])
            ids.append(str(result["id"]))
    return ids


def _permission_set(sf: Salesforce, conn: client.Connection, name: str) -> tuple[str, bool]:
    """The id of the permission set ``name``, created when missing; whether it was created."""
    soql = format_soql("SELECT Id FROM PermissionSet WHERE Name = {name} LIMIT 1", name=name)
    found = _rows(sf, conn, soql)
    if found:
        return str(found[0]["Id"]), False
    label = name.replace("_", " ")
    record = {"attributes": {"type": "PermissionSet"}, "Name": name, "Label": label}
    return _create(sf, conn, [record])[0], True


def _profile_sets(sf: Salesforce, conn: client.Connection, profiles: list[str]) -> dict[str, str]:
    """Profile name → the id of the permission set that profile owns."""
    if not profiles:
        return {}
    soql = format_soql(
        "SELECT Id, Profile.Name FROM PermissionSet "
        "WHERE IsOwnedByProfile = true AND Profile.Name IN {names}",
        names=profiles,
    )
    return {str((r.get("Profile") or {}).get("Name")): str(r["Id"]) for r in _rows(sf, conn, soql)}


def _missing_grants(
    sf: Salesforce, conn: client.Connection, parent: str, fields: list[str]
) -> list[dict[str, Any]]:
    """FieldPermissions records still to create for ``parent`` (fields as ``Object.Field__c``)."""
    soql = format_soql("SELECT Id, Field FROM FieldPermissions WHERE ParentId = {parent}", parent=parent)
    have = {str(r["Field"]) for r in _rows(sf, conn, soql)}
    return [
        {
            "attributes": {"type": "FieldPermissions"},
            "ParentId": parent,
            "SobjectType": field.split(".", 1)[0],
            "Field": field,
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
        for field in fields
        if field not in have
    ]


def manual_step(fields: list[str], settings: Mapping[str, Any]) -> str:
    """What an admin must do when the org refuses setup's own grant."""
    name = str(settings.get("permission_set") or DEFAULT_PERMISSION_SET)
    return (
        f"grant field-level security (read and edit) on {', '.join(fields)} in permission set {name} "
        "(Setup → Permission Sets → New, then Object Settings → each object → Edit) and assign it to the "
        "integration user and the users who should see the fields"
    )


def grant(
    sf: Salesforce,
    conn: client.Connection,
    fields: list[str],
    settings: Mapping[str, Any],
    report: dict[str, list[str]],
) -> None:
    """Grant read and edit on ``fields`` to the configured permission set and profiles, once each."""
    name = str(settings.get("permission_set") or DEFAULT_PERMISSION_SET)
    profiles = [str(p) for p in settings.get("profiles") or []]
    try:
        parent, created = _permission_set(sf, conn, name)
        parents = {f"permission set {name}": parent}
        found = _profile_sets(sf, conn, profiles)
        parents |= {f"profile {p}": found[p] for p in profiles if p in found}
        report["missing"] += [f"profile {p} (for field-level security)" for p in profiles if p not in found]
        for label, parent_id in parents.items():
            grants = _missing_grants(sf, conn, parent_id, fields)
            _create(sf, conn, grants)
            report["created" if grants else "present"].append(
                f"field-level security (read, edit) on {len(grants) or len(fields)} fields in {label}"
            )
    except (PermanentError, AuthError) as exc:
        if isinstance(exc, AuthError) and exc.code != "INSUFFICIENT_ACCESS":
            raise  # a rejected session: core refreshes it and runs setup again
        # the integration user may not manage permission sets: say what the admin must do instead
        report["manual"].append(f"{manual_step(fields, settings)} ({exc.code})")
        return
    if created:
        report["manual"].append(
            f"assign permission set {name} (field-level security on the EchoDepth fields) to the "
            "integration user and the users who should see them; setup assigns it to nobody"
        )
