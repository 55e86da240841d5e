"""Data residency: which region's stores hold a tenant, and the settings of each region's stores.

Every tenant has a region (``uk`` by default, or ``eu``). The home region (``ECHODEPTH_REGION``) uses the
top-level ``database_url``, ``broker_url`` and ``data_dir``, and its database also holds the tenant
directory (tenant id → region, API-key hashes). ``ECHODEPTH_REGIONS`` gives another region its own
database, broker and media spool; a region without an entry is kept in the home region's stores.
``core.runtime.Runtime`` opens one set of stores per region and ``core.storage.residency`` refuses any
cross-region read or write (``421 wrong_region``).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from core.governance.policy import REGIONS
from core.sdk.errors import ConfigError
from core.settings import Settings

__all__ = ["RegionStores", "region_stores", "region_settings", "hosted_regions", "served_regions"]


class RegionStores(BaseModel):
    """Where one region's data lives: its own database, broker and data directory (media spool)."""

    model_config = ConfigDict(extra="forbid")

    database_url: str | None = None
    broker_url: str | None = None
    broker_namespace: str | None = None
    data_dir: Path | None = None


def region_stores(settings: Settings) -> dict[str, RegionStores]:
    """The regions ``ECHODEPTH_REGIONS`` gives their own stores; ConfigError when it is malformed."""
    if not settings.regions.strip():
        return {}
    try:
        raw = json.loads(settings.regions)
        found = {name: RegionStores.model_validate(value) for name, value in dict(raw).items()}
    except (ValueError, TypeError, ValidationError) as exc:
        raise ConfigError(f"ECHODEPTH_REGIONS must be a JSON object of region stores: {exc}") from exc
    wrong = [name for name in found if name not in REGIONS or name == settings.region]
    if wrong:
        raise ConfigError(f"ECHODEPTH_REGIONS: {wrong} must be regions other than the home one, of {REGIONS}")
    return found


def region_settings(settings: Settings, region: str) -> Settings:
    """``settings`` with the database, broker and data directory of ``region`` (which has its own stores)."""
    stores = region_stores(settings)[region]
    update = {
        "region": region,
        "regions": "",
        "serve_regions": region,
        "database_url": stores.database_url,
        "broker_url": stores.broker_url or settings.broker_url,
        "broker_namespace": stores.broker_namespace or f"{settings.broker_namespace}-{region}",
        "data_dir": stores.data_dir or settings.data_dir / "regions" / region,
    }
    return settings.model_copy(update=update)


def hosted_regions(settings: Settings) -> frozenset[str]:
    """The regions whose tenants the home stores hold: the home region and every region without its own."""
    own = region_stores(settings)
    return frozenset(r for r in REGIONS if r == settings.region or r not in own)


def served_regions(settings: Settings) -> frozenset[str]:
    """The regions this process serves (``ECHODEPTH_SERVE_REGIONS``; empty = every region)."""
    named = {part.strip() for part in settings.serve_regions.split(",") if part.strip()}
    return frozenset(named) if named else frozenset(REGIONS)
