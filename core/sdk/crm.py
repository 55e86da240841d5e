"""The CRM Sink template: a CRM connector declares its mapping model and writes a batch of analyses.

Batch is the only path: ``deliver`` is a batch of one. The default mapping (``config/mappings/<key>.yaml``)
is read and validated once, when the Sink is made (the registry makes connectors at start-up, so a broken
file stops it); a connection's ``mapping`` overrides are merged over it (per section, per key) and
validated once per distinct override, not at every delivery. ``mapping_of`` and ``speaker_paths_of`` live
here only.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.sdk.contracts import BatchOutcome, DeliveryReceipt, HttpSession, OutboundMessage, ProviderSpec
from core.sdk.errors import ConfigError, PermanentError
from core.sdk.participants import Attribution, PersonView, attribution_for, person_view, person_views
from core.sdk.participants import speaker_fields as read_speaker_fields

__all__ = ["CrmItem", "CrmSink", "CrmConnectionSettings", "merged_mapping"]

M = TypeVar("M", bound=BaseModel)
I = TypeVar("I", bound="CrmItem")  # noqa: E741
_CACHED_OVERRIDES = 256  # distinct connection overrides kept validated


class CrmConnectionSettings(BaseModel):
    """What a tenant may set on a CRM connection (absent: keep); a Sink adds its own fields."""

    model_config = ConfigDict(extra="forbid")

    mapping: dict[str, Any] | None = Field(
        default=None, description="overrides of config/mappings/<key>.yaml"
    )
    result_url: str | None = None
    skip_domains: list[str] | None = None
    create_unmatched: bool | None = Field(
        default=None, description="create a record for participants no record matches"
    )


@dataclass
class CrmItem:
    """One analysis of a batch: who it is about, each person's figures, and how its delivery ended."""

    message: OutboundMessage
    view: PersonView  # the meeting's figures, prospect speakers named
    attribution: Attribution
    people: dict[str, PersonView]  # each participant's own figures (else the meeting's), by e-mail
    data: Mapping[str, Any]
    record_views: dict[str, PersonView] = field(default_factory=dict)  # by matched record id
    failed: PermanentError | None = None

    @property
    def emails(self) -> list[str]:
        """The participants to match (prospect speakers first)."""
        return self.attribution.emails

    def fail(self, exc: PermanentError) -> None:
        """Record the first error that fails this analysis."""
        self.failed = self.failed or exc

    def outcome(self) -> BatchOutcome:
        """What the delivery log records: the error, or how many participants were matched."""
        if self.failed is not None:
            return self.failed
        matched = f"{len(self.record_views)} of {len(self.emails)} participants matched"
        return DeliveryReceipt(200, f"{matched}; {self.attribution.note()}")


def merged_mapping(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` with ``overrides`` applied: a section that is a mapping per key, else replaced."""
    merged = dict(defaults)
    for section, value in overrides.items():
        merged[section] = {**merged.get(section, {}), **value} if isinstance(value, dict) else value
    return merged


class CrmSink(ABC, Generic[M, I]):
    """A Sink that writes analyses to CRM records; subclasses declare and implement ``write``."""

    kind: Literal["sink"] = "sink"
    events = frozenset({"analysis.completed"})
    key: ClassVar[str]
    display_name: ClassVar[str]
    max_batch: ClassVar[int]  # analyses handed over together (core.sdk.BatchSink)
    participants_per_analysis: ClassVar[int]  # the most participants one analysis matches
    mapping_model: ClassVar[type[BaseModel]]
    item_type: ClassVar[type[CrmItem]] = CrmItem
    connection_settings: ClassVar[type[BaseModel]] = CrmConnectionSettings

    def __init__(self, mapping_file: Path) -> None:
        try:
            self._defaults: dict[str, Any] = yaml.safe_load(mapping_file.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{mapping_file}: {exc}") from exc
        self._lock = threading.Lock()
        self._validated: dict[str, tuple[M, dict[str, str]]] = {}
        self._mapping({})  # the defaults, checked now

    def _mapping(self, overrides: Mapping[str, Any]) -> tuple[M, dict[str, str]]:
        """The mapping model and speaker paths for ``overrides``, validated once per distinct override."""
        key = json.dumps(overrides, sort_keys=True, default=str)
        with self._lock:
            found = self._validated.get(key)
        if found is not None:
            return found
        data = merged_mapping(self._defaults, overrides)
        speakers = data.pop("speaker_fields", None)
        try:
            made = (self.mapping_model.model_validate(data), read_speaker_fields(speakers))
        except (ValidationError, ValueError) as exc:
            raise ConfigError(f"{self.key} mapping is invalid: {exc}") from exc
        with self._lock:
            if len(self._validated) >= _CACHED_OVERRIDES:
                self._validated.clear()
            self._validated[key] = made  # type: ignore[assignment]
        return made  # type: ignore[return-value]

    def mapping_of(self, spec: ProviderSpec) -> M:
        """The default mapping with the connection's ``mapping`` overrides (per object, per field)."""
        return self._mapping(spec.settings.get("mapping") or {})[0]

    def speaker_paths_of(self, spec: ProviderSpec) -> dict[str, str]:
        """The mapping's ``speaker_fields``: which view fields a named speaker's own figures replace."""
        return self._mapping(spec.settings.get("mapping") or {})[1]

    def items(self, spec: ProviderSpec, messages: Sequence[OutboundMessage]) -> list[I]:
        """Each message as an item: its participants, the meeting's figures and each person's own."""
        link, paths = str(spec.settings.get("result_url") or ""), self.speaker_paths_of(spec)
        made = []
        for message in messages:
            data: Mapping[str, Any] = message.payload.get("data") or {}
            attribution = attribution_for(spec.settings, data, self.participants_per_analysis)
            view = PersonView.of(data, link)
            meeting = person_view(view, None, prospects=attribution.speakers.values())
            people = person_views(view, attribution, paths)
            made.append(self.item_type(message, meeting, attribution, people, data))
        return made  # type: ignore[return-value]

    @abstractmethod
    def write(self, session: HttpSession, spec: ProviderSpec, mapping: M, items: list[I]) -> None:
        """Write every item's records; a refused record fails its items (``CrmItem.fail``), an error about
        the whole call (auth, transient) is raised."""

    def deliver_batch(
        self, session: HttpSession, spec: ProviderSpec, messages: Sequence[OutboundMessage]
    ) -> list[BatchOutcome]:
        """Deliver ``messages`` in few vendor calls; one outcome per message, in order."""
        mapping, items = self.mapping_of(spec), self.items(spec, messages)
        self.write(session, spec, mapping, items)
        return [it.outcome() for it in items]

    def deliver(self, session: HttpSession, spec: ProviderSpec, message: OutboundMessage) -> DeliveryReceipt:
        """One analysis: a batch of one."""
        outcome = self.deliver_batch(session, spec, [message])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
