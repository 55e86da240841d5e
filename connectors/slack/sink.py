"""The Slack Sink: one Block Kit alert per (analysis, channel) for every rule the analysis matches.

Idempotency: each message carries Slack message metadata naming the event id
(https://docs.slack.dev/messaging/message-metadata); before posting, the channel's recent history is read
with ``include_all_metadata`` and a message already carrying this event id is not posted again, so a retry,
a replay or a worker killed after the post never makes a second message.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import ValidationError

from connectors.slack import client
from connectors.slack.models import AlertRule, ResultView
from core.sdk import ConfigError, DeliveryReceipt, HttpSession, OutboundMessage, ProviderSpec

__all__ = ["SlackSink", "blocks_for", "rules_of", "METADATA_EVENT"]

log = logging.getLogger("echodepth.connectors.slack")
METADATA_EVENT = "echodepth_analysis"


def rules_of(spec: ProviderSpec) -> list[AlertRule]:
    """The connection's alert rules (``settings.rules``); ConfigError when one is malformed."""
    try:
        return [AlertRule.model_validate(r) for r in spec.settings.get("rules") or []]
    except ValidationError as exc:
        raise ConfigError(f"slack rules are invalid: {exc}") from exc


def _score(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def blocks_for(view: ResultView) -> list[dict[str, Any]]:
    """The Block Kit layout of one alert: header, scores, top evidence and a link to the result."""
    fields = [
        f"*Trust Score*\n{_score(view.trust_score)} ({view.trust_band or 'n/a'})",
        f"*Modality*\n{view.modality}",
        "*Valence / Arousal / Dominance*\n"
        + " / ".join(_score(view.vad.get(k), 2) for k in ("valence", "arousal", "dominance")),
        f"*Dominant emotion*\n{view.dominant_emotion or 'n/a'}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "EchoDepth analysis"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if view.evidence:
        top = "\n".join(f"• {e}" for e in view.evidence[:3])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Top evidence*\n{top}"}})
    if view.link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open result"},
                        "url": view.link,
                    }
                ],
            }
        )
    return blocks


def _summary(view: ResultView) -> str:
    return f"EchoDepth analysis {view.job_id}: Trust Score {_score(view.trust_score)} ({view.modality})"


class SlackSink:
    """Posts analysis alerts to the channels of the tenant's matching rules."""

    key = "slack"
    kind: Literal["sink"] = "sink"
    display_name = "Slack"
    events = frozenset({"analysis.completed", "analysis.failed"})

    def _client(self, session: HttpSession, spec: ProviderSpec) -> client.SessionWebClient:
        base = spec.api_base_url or "https://slack.com/api"
        wait = float(spec.settings.get("inline_retry_after_max_seconds", 1))
        return client.SessionWebClient(session, base, spec.timeout_seconds, wait)

    def _already_posted(
        self, web: client.SessionWebClient, channel: str, message_id: str, depth: int
    ) -> bool:
        history = client.call(
            web, "conversations.history", form=True, channel=channel, limit=depth, include_all_metadata="true"
        )
        for item in history.get("messages") or []:
            meta = item.get("metadata") or {}
            if (
                meta.get("event_type") == METADATA_EVENT
                and meta.get("event_payload", {}).get("event_id") == message_id
            ):
                return True
        return False

    def _post(
        self, web: client.SessionWebClient, channel: str, message: OutboundMessage, view: ResultView
    ) -> None:
        client.call(
            web,
            "chat.postMessage",
            channel=channel,
            text=_summary(view),
            blocks=blocks_for(view),
            unfurl_links=False,
            metadata={
                "event_type": METADATA_EVENT,
                "event_payload": {"event_id": message.id, "job_id": view.job_id},
            },
        )

    def deliver(self, session: HttpSession, spec: ProviderSpec, message: OutboundMessage) -> DeliveryReceipt:
        """Post one alert per matching rule's channel, skipping channels that already have it."""
        view = ResultView.of(message.payload.get("data") or {}, str(spec.settings.get("result_url") or ""))
        channels = list(dict.fromkeys(r.channel for r in rules_of(spec) if r.matches(message.type, view)))
        web = self._client(session, spec)
        depth = int(spec.settings.get("history_depth", 100))
        posted = 0
        for channel in channels:
            if self._already_posted(web, channel, message.id, depth):
                log.info("slack: %s already posted to %s", message.id, channel)
                continue
            self._post(web, channel, message, view)
            posted += 1
        return DeliveryReceipt(200, f"posted to {posted} of {len(channels)} matching channels")
