"""Strict checks of HubSpot JSON bodies against hubspot-api-client's generated models (the oracle).

HubSpot's OpenAPI specs are proprietary, so none is committed here; the SDK's models are generated from them
and are open source (Apache-2.0). A body passes when every key is a field of the model (``attribute_map``),
every value has the model's type (``openapi_types``), and the model builds with client-side validation on
(required fields and enums). The SDK's own deserializer is lenient (it drops unknown keys and coerces
primitives), hence this walker.
"""

from __future__ import annotations

import importlib
import re
from datetime import datetime
from types import ModuleType
from typing import Any

__all__ = ["problems"]

_DICT = re.compile(r"dict\[([^,]*), (.*)\]")


def problems(package: str, model: str, data: Any) -> list[str]:
    """What is wrong with ``data`` as ``hubspot.<package>.models.<model>`` ([] when nothing)."""
    module = importlib.import_module(f"hubspot.{package}.models")
    config = importlib.import_module(f"hubspot.{package}.configuration").Configuration()
    config.client_side_validation = True
    return _check(module, config, model, data, model)


def _native(kind: str, value: Any, where: str) -> list[str]:
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "object": True,
    }.get(kind)
    if kind in ("datetime", "date"):
        ok = isinstance(value, str) and _is_iso(value)
    if ok is None:
        return [f"{where}: unknown type {kind}"]
    return [] if ok else [f"{where}: expected {kind}, got {type(value).__name__} {value!r:.40}"]


def _is_iso(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _check(module: ModuleType, config: Any, kind: str, value: Any, where: str) -> list[str]:
    if value is None:
        return []  # absent or null: the model's constructor decides whether it was required
    if kind.startswith("list["):
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [
            p for i, v in enumerate(value) for p in _check(module, config, kind[5:-1], v, f"{where}[{i}]")
        ]
    if (found := _DICT.fullmatch(kind)) is not None:
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        return [p for k, v in value.items() for p in _check(module, config, found[2], v, f"{where}.{k}")]
    if not hasattr(module, kind):
        return _native(kind, value, where)
    return _model(module, config, getattr(module, kind), value, where)


def _model(module: ModuleType, config: Any, cls: type, value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object"]
    by_json = {json_key: attr for attr, json_key in cls.attribute_map.items()}  # type: ignore[attr-defined]
    found = [f'{where}: Unrecognized field "{k}"' for k in value if k not in by_json]
    for key, item in value.items():
        if key in by_json:
            kind = cls.openapi_types[by_json[key]]  # type: ignore[attr-defined]
            found += _check(module, config, kind, item, f"{where}.{key}")
    if found:
        return found
    try:
        cls(**{by_json[k]: v for k, v in value.items()}, local_vars_configuration=config)
    except (ValueError, TypeError) as exc:
        return [f"{where}: {exc}"]
    return []
