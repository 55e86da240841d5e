"""The Microsoft Graph change-notification payloads we read (only the fields we read).

Shapes after https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks (``value[]`` of
``changeNotification``: ``subscriptionId``, ``clientState``, ``changeType``, ``resource``, ``resourceData``,
``tenantId``; lifecycle ones carry ``lifecycleEvent`` instead of ``resource``) and
https://learn.microsoft.com/en-us/graph/teams-changenotifications-callrecording-and-calltranscript: a
tenant-wide ``getAllRecordings`` subscription names ``resource`` =
``communications/onlineMeetings('{meeting id}')/recordings('{recording id}')`` (no organiser: the worker asks
Graph for the recording's ``meetingOrganizer``); a user's subscription names the user,
``users('{user id}')/onlineMeetings('{meeting id}')/recordings('{recording id}')``. Both are read.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ChangeNotification", "NotificationCollection", "MeetingResource", "meeting_resource"]

_RESOURCE = re.compile(
    r"(?:users\('(?P<user>[^']+)'\)|communications)/onlineMeetings\('(?P<meeting>[^']+)'\)"
    r"/(?P<kind>recordings|transcripts)\('(?P<item>[^']+)'\)"
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ChangeNotification(_Model):
    """One item of ``value``: a change (recording or transcript created) or a lifecycle event."""

    subscription_id: str = Field(alias="subscriptionId")
    client_state: str = Field(default="", alias="clientState")
    change_type: str | None = Field(default=None, alias="changeType")
    resource: str = ""
    tenant_id: str = Field(default="", alias="tenantId")
    lifecycle_event: str | None = Field(default=None, alias="lifecycleEvent")
    resource_data: dict[str, Any] = Field(default_factory=dict, alias="resourceData")


class NotificationCollection(_Model):
    """The POSTed body: ``{"value": [...]}``."""

    value: list[ChangeNotification]


class MeetingResource(_Model):
    """The ids in a recording's or transcript's resource path."""

    user_id: str | None  # the organiser; None when the resource does not name one (tenant-wide)
    meeting_id: str
    kind: str  # recordings | transcripts
    item_id: str


def meeting_resource(resource: str) -> MeetingResource | None:
    """The organiser (when named), meeting and item ids of ``resource``; None for another resource."""
    found = _RESOURCE.search(resource)
    if found is None:
        return None
    return MeetingResource(
        user_id=found["user"], meeting_id=found["meeting"], kind=found["kind"], item_id=found["item"]
    )
