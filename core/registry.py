"""The connector registry: connectors are found by key through the ``echodepth.connectors`` entry points.

A third party adds a connector with ``pip install``: its package declares
``[project.entry-points."echodepth.connectors"] <key> = "<module>:CONNECTOR"``. Vendor facts come from
``config/providers/<key>.yaml`` (or the connector's own ``provider_spec``), validated at load time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from config import CONFIG_DIR
from core.sdk.contracts import EVENT_TYPES, ProviderSpec, Sink, Source
from core.sdk.errors import ConfigError
from core.sdk.settings import ConnectorSettings, NoConnectionSettings, OAuthAppSettings

__all__ = [
    "ENTRY_POINT_GROUP",
    "Registered",
    "ConnectorRegistry",
    "load_provider_spec",
    "get_registry",
    "connector_settings",
    "connection_settings_model",
]

ENTRY_POINT_GROUP = "echodepth.connectors"
PROVIDERS_DIR = CONFIG_DIR / "providers"


@dataclass(frozen=True)
class Registered:
    """One installed connector: its key, the object, its validated spec and where it came from."""

    key: str
    connector: Source | Sink
    spec: ProviderSpec
    origin: str

    @property
    def kind(self) -> str:
        """``source`` or ``sink``."""
        return self.spec.kind


def load_provider_spec(key: str, directory: Path = PROVIDERS_DIR) -> ProviderSpec:
    """Read and validate ``<directory>/<key>.yaml``; ConfigError when missing or invalid."""
    path = directory / f"{key}.yaml"
    try:
        data = yaml.safe_load(path.read_text())
        return ProviderSpec.model_validate(data)
    except FileNotFoundError as exc:
        raise ConfigError(f"connector {key!r} has no provider spec at {path}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{path} is not a valid provider spec: {exc}") from exc


def _spec_for(key: str, connector: object) -> ProviderSpec:
    own = getattr(connector, "provider_spec", None)
    if isinstance(own, ProviderSpec) and not (PROVIDERS_DIR / f"{key}.yaml").exists():
        return own
    return load_provider_spec(key)


def _check(key: str, connector: object, spec: ProviderSpec) -> None:
    """Raise ConfigError unless ``connector`` keeps the contract its spec announces."""
    expected = Sink if spec.kind == "sink" else Source
    if not isinstance(connector, expected):
        raise ConfigError(f"connector {key!r} does not implement the {spec.kind} contract")
    if getattr(connector, "key", None) != key or spec.key != key:
        raise ConfigError(f"connector {key!r}: entry point, object and spec keys differ")
    if getattr(connector, "kind", None) != spec.kind:
        raise ConfigError(f"connector {key!r}: object kind differs from its spec")
    for name, base in (("settings_model", ConnectorSettings), ("connection_settings", BaseModel)):
        model = getattr(connector, name, None)
        if model is not None and not (isinstance(model, type) and issubclass(model, base)):
            raise ConfigError(f"connector {key!r}: {name} is not a {base.__name__} subclass")
    unknown = set(getattr(connector, "events", ())) - EVENT_TYPES
    if unknown:
        raise ConfigError(f"connector {key!r} subscribes to unknown events {sorted(unknown)}")


def _load(ep: EntryPoint) -> Registered:
    try:
        connector = ep.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"connector {ep.name!r} ({ep.value}) cannot be imported: {exc}") from exc
    spec = _spec_for(ep.name, connector)
    _check(ep.name, connector, spec)
    return Registered(ep.name, connector, spec, ep.value)


class ConnectorRegistry:
    """Every installed connector, by key."""

    def __init__(self, found: list[Registered]) -> None:
        self._by_key = {r.key: r for r in found}

    @classmethod
    def discover(cls, eps: Iterable[EntryPoint] | None = None) -> ConnectorRegistry:
        """Load every connector declared in the entry-point group (ConfigError on a broken one)."""
        found = entry_points(group=ENTRY_POINT_GROUP) if eps is None else eps
        return cls([_load(ep) for ep in sorted(found, key=lambda ep: ep.name)])

    def keys(self) -> list[str]:
        """Every key, sorted."""
        return sorted(self._by_key)

    def all(self) -> list[Registered]:
        """Every connector, sorted by key."""
        return [self._by_key[k] for k in self.keys()]

    def get(self, key: str) -> Registered:
        """The connector called ``key``; ConfigError when none is installed."""
        try:
            return self._by_key[key]
        except KeyError:
            raise ConfigError(f"no connector {key!r} is installed (have: {', '.join(self.keys())})") from None

    def settings_model(self, provider: str) -> type[ConnectorSettings] | None:
        """The settings model of the connector that connects through ``provider`` (its key, or its
        ``connection_provider``), None when none declares one."""
        for found in self.all():
            model = getattr(found.connector, "settings_model", None)
            if model is not None and getattr(found.connector, "connection_provider", found.key) == provider:
                return model
        return None

    def sink(self, key: str) -> Sink:
        """The Sink called ``key``."""
        found = self.get(key).connector
        if not isinstance(found, Sink):
            raise ConfigError(f"connector {key!r} is not a sink")
        return found


@lru_cache(maxsize=1)
def get_registry() -> ConnectorRegistry:
    """The process-wide registry, discovered once."""
    return ConnectorRegistry.discover()


def connector_settings(
    provider: str,
    given: Mapping[str, Mapping[str, Any]] | None = None,
    registry: ConnectorRegistry | None = None,
) -> ConnectorSettings:
    """``provider``'s connector settings: its connector's ``settings_model`` read from the environment,
    ``given[provider]`` (the ``connectors`` setting) over it; a provider no connector declares gets the plain
    OAuth app settings under ``ECHODEPTH_<PROVIDER>_``. ConfigError when a value is invalid."""
    model = (registry or get_registry()).settings_model(provider)
    values = dict((given or {}).get(provider) or {})
    try:
        if model is None:
            return OAuthAppSettings(_env_prefix=f"ECHODEPTH_{provider.upper()}_", **values)  # type: ignore[call-arg]
        return model(**values)
    except ValidationError as exc:
        raise ConfigError(f"settings of {provider!r} are invalid: {exc}") from exc


def connection_settings_model(connector: object) -> type[BaseModel]:
    """What a tenant may set on a connection of ``connector`` (nothing unless it declares a model)."""
    model = getattr(connector, "connection_settings", None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else NoConnectionSettings
