"""Validate Graph JSON against the vendor's published CSDL (``v1.0-trimmed.csdl.xml``, from msgraph-metadata).

``problems(type_name, body)`` lists what Graph would refuse in a request body (or what a real answer could
never hold): a property the type does not declare, a value of the wrong type, a null where the type says
``Nullable="false"``, an enum value the type does not list. Open types accept extra properties, as Graph does.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["problems", "action_problems"]

_EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
_FILE = Path(__file__).with_name("v1.0-trimmed.csdl.xml")
_PRIMITIVE: dict[str, tuple[type, ...]] = {
    "Edm.String": (str,),
    "Edm.Boolean": (bool,),
    "Edm.Int32": (int,),
    "Edm.Int64": (int,),
    "Edm.Double": (int, float),
    "Edm.Guid": (str,),
    "Edm.Binary": (str,),
    "Edm.Stream": (str,),
    "Edm.Duration": (str,),
    "Edm.Date": (str,),
    "Edm.TimeOfDay": (str,),
}


@dataclass(frozen=True)
class _Type:
    kind: str  # EntityType | ComplexType | EnumType
    base: str | None
    open: bool
    props: dict[str, tuple[str, bool]]  # name → (type, nullable)
    members: frozenset[str]


@cache
def _schema() -> tuple[dict[str, _Type], dict[str, dict[str, tuple[str, bool]]]]:
    root = ET.parse(_FILE).getroot()
    types: dict[str, _Type] = {}
    for e in root:
        kind = e.tag.removeprefix(_EDM)
        if kind not in ("EntityType", "ComplexType", "EnumType"):
            continue
        props = {
            p.attrib["Name"]: (p.attrib["Type"], p.attrib.get("Nullable", "true") != "false")
            for p in e.findall(f"{_EDM}Property")
        }
        members = frozenset(m.attrib["Name"] for m in e.findall(f"{_EDM}Member"))
        base = e.attrib.get("BaseType", "").removeprefix("graph.") or None
        types[e.attrib["Name"]] = _Type(kind, base, e.attrib.get("OpenType") == "true", props, members)
    actions = {
        a.attrib["Name"]: {
            p.attrib["Name"]: (p.attrib["Type"], p.attrib.get("Nullable", "true") != "false")
            for p in a.findall(f"{_EDM}Parameter")
            if p.attrib["Name"] != "bindingParameter"
        }
        for a in root.findall(f"{_EDM}Action")
    }
    return types, actions


def _props(name: str) -> tuple[dict[str, tuple[str, bool]], bool]:
    types, _ = _schema()
    found: dict[str, tuple[str, bool]] = {}
    is_open, at = False, types.get(name)
    while at is not None:
        found = {**at.props, **found}
        is_open = is_open or at.open
        at = types.get(at.base) if at.base else None
    return found, is_open


def _value(kind: str, value: Any, where: str) -> list[str]:
    if kind.startswith("Collection("):
        if not isinstance(value, list):
            return [f"{where}: expected a collection"]
        inner = kind[len("Collection(") : -1]
        return [p for i, v in enumerate(value) for p in _value(inner, v, f"{where}[{i}]")]
    if kind == "Edm.DateTimeOffset":
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return [f"{where}: {value!r} is not an Edm.DateTimeOffset"]
        return [] if isinstance(value, str) else [f"{where}: expected a string"]
    if kind in _PRIMITIVE:
        ok = isinstance(value, _PRIMITIVE[kind]) and not (kind != "Edm.Boolean" and isinstance(value, bool))
        return [] if ok else [f"{where}: {value!r} is not {kind}"]
    name = kind.removeprefix("graph.")
    found = _schema()[0].get(name)
    if found is None:
        return []  # a type outside the trimmed excerpt: not checked
    if found.kind == "EnumType":
        ok = isinstance(value, str) and all(v in found.members for v in value.split(","))
        return [] if ok else [f"{where}: {value!r} is not a {name} value"]
    return problems(name, value, where)


def _check(props: dict[str, tuple[str, bool]], is_open: bool, body: Any, where: str, name: str) -> list[str]:
    if not isinstance(body, dict):
        return [f"{where}: expected an object of type microsoft.graph.{name}"]
    out: list[str] = []
    for key, value in body.items():
        if key.startswith("@odata.") or "@odata." in key:
            continue
        if key not in props:
            if not is_open:
                out.append(f"Property '{key}' does not exist on type 'microsoft.graph.{name}'")
            continue
        kind, nullable = props[key]
        if value is None:
            out += [] if nullable else [f"{where}.{key}: null is not allowed"]
            continue
        out += _value(kind, value, f"{where}.{key}")
    return out


def problems(type_name: str, body: Any, where: str = "$") -> list[str]:
    """What in ``body`` does not fit ``microsoft.graph.<type_name>``."""
    props, is_open = _props(type_name)
    return _check(props, is_open, body, where, type_name)


def action_problems(action: str, body: Any) -> list[str]:
    """What in an action's body does not fit its parameters (names are case-insensitive, as Graph reads)."""
    params = _schema()[1][action]
    by_lower = {k.lower(): k for k in params}
    if not isinstance(body, dict):
        return ["$: expected an object"]
    renamed = {by_lower.get(k.lower(), k): v for k, v in body.items()}
    missing = [f"$.{k}: required" for k, (_, nullable) in params.items() if not nullable and k not in renamed]
    return missing + _check(params, False, renamed, "$", action)
