"""What the Integrations page shows, vendor-neutral: the connectable providers (from the connector registry
and their provider files), each connection's status and last delivery, a Sink's field mapping (its defaults
in ``config/mappings/<key>.yaml`` with the connection's overrides) and its alert rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import select

from config import CONFIG_DIR
from core.connections import Connection, Connections
from core.delivery.models import WebhookDelivery
from core.registry import ConnectorRegistry
from core.sdk.errors import InputError
from core.sdk.results import ResultView
from core.storage.db import Database

__all__ = [
    "Provider",
    "ConnectionStatus",
    "MappedRow",
    "providers",
    "status_of",
    "default_mapping",
    "mapping_rows",
    "mapping_changes",
    "result_fields",
    "MAPPINGS_DIR",
]

MAPPINGS_DIR = CONFIG_DIR / "mappings"
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")


@dataclass(frozen=True)
class Provider:
    """A vendor that can be connected with OAuth: its key, name, kind, and whether our app is registered."""

    key: str
    name: str
    kind: str
    configured: bool
    setup_hint: str = ""
    admin_consent: bool = False  # the vendor also grants organisation-wide app-only access


@dataclass(frozen=True)
class ConnectionStatus:
    """A connection with what the page says about it."""

    conn: Connection
    provider_name: str
    kind: str
    last_delivery: WebhookDelivery | None = None
    last_error: WebhookDelivery | None = None

    @property
    def state(self) -> str:
        """connected, needs re-auth or revoked, in words."""
        return {"active": "connected", "needs_reauth": "needs re-auth"}.get(
            self.conn.status, self.conn.status
        )


@dataclass(frozen=True)
class MappedRow:
    """One vendor field of a mapping and the result field that fills it."""

    section: str
    name: str
    source: str
    type: str
    label: str = ""
    overridden: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _provider(conns: Connections, key: str, name: str, kind: str) -> Provider | None:
    try:
        oauth = conns.catalog.oauth(key)
    except InputError:
        return None  # not connected with OAuth (a signing-secret webhook, say)
    consent = oauth.client_credentials is not None
    try:
        conns.catalog.client(key)
    except InputError as exc:
        return Provider(key, name, kind, False, exc.message, consent)
    return Provider(key, name, kind, True, "", consent)


def providers(registry: ConnectorRegistry, conns: Connections) -> list[Provider]:
    """Every installed connector connected with OAuth (through its own provider file, or the one it names as
    ``connection_provider``), sources first, by name."""
    found: list[Provider] = []
    for registered in registry.all():
        key = str(getattr(registered.connector, "connection_provider", None) or registered.key)
        provider = _provider(conns, key, registered.spec.display_name, registered.kind)
        if provider is not None:
            found.append(provider)
    return sorted(found, key=lambda p: (p.kind != "source", p.name.lower()))


def _newest(db: Database, endpoint_id: str, failed: bool) -> WebhookDelivery | None:
    q = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if failed:
        q = q.where(WebhookDelivery.last_error.is_not(None))
    with db.session() as s:
        return s.scalars(q.order_by(WebhookDelivery.created_at.desc()).limit(1)).first()


def status_of(db: Database, conn: Connection, names: Mapping[str, Provider]) -> ConnectionStatus:
    """The connection with its newest delivery and its newest failed attempt (a Sink's endpoint id is the
    connection id)."""
    known = names.get(conn.provider)
    name, kind = (known.name, known.kind) if known else (conn.provider, "")
    return ConnectionStatus(conn, name, kind, _newest(db, conn.id, False), _newest(db, conn.id, True))


def default_mapping(key: str) -> dict[str, Any] | None:
    """The provider's default field mapping, or None when it has none."""
    path = MAPPINGS_DIR / f"{key}.yaml"
    if not _FIELD_NAME.match(key) or not path.exists():
        return None
    data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    return data


def _sections(mapping: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """The parts of a mapping that map vendor fields: {section: {vendor field: {"from", "type", …}}} (a rule
    without a vendor ``type`` is something else, e.g. which figures a named speaker replaces)."""
    return {
        name: {k: dict(v) for k, v in value.items()}
        for name, value in mapping.items()
        if isinstance(value, dict)
        and value
        and all(isinstance(v, dict) and "from" in v and "type" in v for v in value.values())
    }


def mapping_rows(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> list[MappedRow]:
    """Every mapped field, the connection's overrides applied (per section, per field)."""
    base = _sections(defaults)
    for section, fields in _sections(overrides).items():
        base[section] = {**base.get(section, {}), **fields}
    own = _sections(overrides)
    rows: list[MappedRow] = []
    for section, fields in base.items():
        for name, rule in fields.items():
            extra = {k: v for k, v in rule.items() if k not in ("from", "type", "label")}
            overridden = name in own.get(section, {})
            source, kind, label = str(rule["from"]), str(rule.get("type", "")), str(rule.get("label", ""))
            rows.append(MappedRow(section, name, source, kind, label, overridden, extra))
    return rows


def result_fields(defaults: Mapping[str, Any]) -> list[str]:
    """The result fields a mapping may name: the shared result view's, and any its defaults use."""
    view = [f for f in ResultView.model_fields if f not in ("job_id", "title")]
    used = [str(r["from"]) for fields in _sections(defaults).values() for r in fields.values()]
    return list(dict.fromkeys(view + used))


def mapping_changes(
    rows: list[MappedRow], form: Mapping[str, str], allowed: list[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The overrides a submitted mapping form makes: each field whose source changed, plus a new field
    (``new_section``, ``new_name``, ``new_from``, ``new_type``); ``InputError`` on a bad name or source."""
    changes: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        chosen = form.get(f"from.{row.section}.{row.name}", row.source)
        if chosen != row.source or row.overridden:
            if chosen not in allowed:
                raise InputError("invalid_input", f"{chosen!r} is not a result field", 422)
            rule = {"from": chosen, "type": row.type, **row.extra} | (
                {"label": row.label} if row.label else {}
            )
            changes.setdefault(row.section, {})[row.name] = rule
    name = form.get("new_name", "").strip()
    if name:
        section, source = form.get("new_section", ""), form.get("new_from", "")
        if not _FIELD_NAME.match(name) or section not in {r.section for r in rows} or source not in allowed:
            raise InputError("invalid_input", "a new field needs a valid name, object and result field", 422)
        kind = form.get("new_type", "").strip() or next(r.type for r in rows if r.section == section)
        changes.setdefault(section, {})[name] = {"from": source, "type": kind, "label": name}
    return changes
