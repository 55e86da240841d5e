"""Meeting Sources in the hub (one region's): the intake (events become jobs, downloads, catch-up, meeting
policies, core.sources.intake) and the change-notification subscriptions of ``Subscriber`` Sources."""

from __future__ import annotations

from functools import cached_property

from core.sources.intake import CAUGHT_UP, HOOKS, PARTICIPANTS, REFUSED, SourceIntake, job_id_for
from core.sources.subscriptions import SourceSubscriptions

__all__ = ["Sources", "HOOKS", "REFUSED", "CAUGHT_UP", "PARTICIPANTS", "job_id_for"]


class Sources(SourceIntake):
    """A region's intake of recordings, with its owner summaries and its subscriptions."""

    @cached_property
    def subscriptions(self) -> SourceSubscriptions:
        """The subscriptions of this region's ``Subscriber`` Sources (they queue through this intake)."""
        return SourceSubscriptions(self)
