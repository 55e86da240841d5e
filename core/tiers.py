"""Rate tiers and route costs from ``config/tiers.yaml``; a bad file is a ConfigError at start-up."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from config import CONFIG_DIR
from core.sdk.errors import ConfigError
from core.settings import Settings

__all__ = ["Tier", "TierBook", "load_tiers"]


class Tier(BaseModel):
    """The limits of one tier; None means unlimited."""

    name: str = ""
    requests_per_minute: int | None = Field(default=None, ge=1)
    concurrent_jobs: int | None = Field(default=None, ge=1)
    media_minutes_per_day: int | None = Field(default=None, ge=1)
    concurrent_streams: int | None = Field(default=None, ge=1)


class TierBook(BaseModel):
    """Every tier, the route costs, and which tier applies to a credential."""

    tiers: dict[str, Tier]
    costs: dict[str, int] = Field(default_factory=dict)
    default_tier: str | None = None
    legacy_per_minute: int = 0  # ECHODEPTH_RATE_LIMIT_PER_MINUTE, for credentials without any tier

    def tier_for(self, assigned: str | None) -> Tier | None:
        """The tier of a credential (its own, else the default); None = unlimited."""
        name = assigned or self.default_tier
        if name is not None and name in self.tiers:
            return self.tiers[name]
        if self.legacy_per_minute:
            return Tier(name="per_minute", requests_per_minute=self.legacy_per_minute)
        return None

    def cost(self, method: str, path_template: str) -> int:
        """Request units a call to this route uses (1 unless config/tiers.yaml says otherwise)."""
        return self.costs.get(f"{method.upper()} {path_template}", 1)


UNLIMITED = "unlimited"  # default_rate_tier naming no tier: only rate_limit_per_minute applies


def _named_default(name: str | None) -> str | None:
    return None if name in (None, "", UNLIMITED) else name


def load_tiers(settings: Settings) -> TierBook:
    """Read and validate the tiers file; the default tier must exist."""
    path: Path = settings.rate_tiers_file or CONFIG_DIR / "tiers.yaml"
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        book = TierBook(
            tiers={name: Tier(name=name, **(spec or {})) for name, spec in (raw.get("tiers") or {}).items()},
            costs={str(k): int(v) for k, v in (raw.get("costs") or {}).items()},
            default_tier=_named_default(settings.default_rate_tier),
            legacy_per_minute=settings.rate_limit_per_minute,
        )
    except (OSError, yaml.YAMLError, ValidationError, TypeError, ValueError) as exc:
        raise ConfigError(f"rate tiers file {path}: {exc}") from exc
    if book.default_tier is not None and book.default_tier not in book.tiers:
        raise ConfigError(f"default_rate_tier {book.default_tier!r} is not a tier in {path}")
    return book
