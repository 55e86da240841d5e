"""Periodic summaries a Sink can ask for (Slack's daily and weekly digests).

Core asks each such Sink which summaries are due (``summaries_due``), counts the tenant's analyses of each
period, and delivers one ``analysis.summary`` event per summary through the ordinary delivery log; its id is
derived from the connection and ``SummaryPeriod.key``, so a restart or a second worker never posts it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from core.sdk.contracts import ProviderSpec

__all__ = ["SUMMARY_EVENT", "SummaryPeriod", "SummarySink"]

SUMMARY_EVENT = "analysis.summary"


@dataclass(frozen=True)
class SummaryPeriod:
    """One summary a Sink wants: the tenant's analyses that ended in ``[start, end)``, filtered."""

    key: str  # stable for one (destination, period), e.g. ``C0ALERTS:daily:2026-11-24``
    target: str  # where the Sink posts it (a Slack channel)
    label: str  # the period as people read it, e.g. ``Tuesday 24 November 2026``
    start: datetime
    end: datetime
    modalities: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    lowest: int = 5  # how many of the lowest Trust Scores to list


@runtime_checkable
class SummarySink(Protocol):
    """A Sink that posts periodic summaries."""

    def summaries_due(self, spec: ProviderSpec, now: datetime) -> list[SummaryPeriod]:
        """The summaries whose period has ended by ``now`` (the latest complete period of each rule)."""
        ...
