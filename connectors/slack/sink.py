"""The Slack Sink: one Block Kit alert per (analysis, channel) for every rule the analysis matches.

Idempotency: each message carries Slack message metadata naming the event id
(https://docs.slack.dev/messaging/message-metadata); before posting, the channel's recent history is read
with ``include_all_metadata`` and a message already carrying this event id is not posted again, so a retry,
a replay or a worker killed after the post never makes a second message.

Who said what: a rule with ``speaker: external|internal`` tests each such speaker's own Trust Score; its
alert names the speakers it matched with their scores. An alert of ``any`` rules lists the named
speakers the result has (none: as before).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError

from connectors.slack import client, summary
from connectors.slack.models import AlertRule, ResultView, SpeakerRow
from connectors.slack.settings import SlackConnectionSettings, SlackSettings
from core.sdk import ConfigError, DeliveryReceipt, HttpSession, OutboundMessage, ProviderSpec, TransientError
from core.sdk.summaries import SUMMARY_EVENT, SummaryPeriod

__all__ = ["SlackSink", "blocks_for", "named_for", "rules_of", "METADATA_EVENT", "SUMMARY_METADATA_EVENT"]

log = logging.getLogger("echodepth.connectors.slack")
METADATA_EVENT = "echodepth_analysis"
SUMMARY_METADATA_EVENT = "echodepth_summary"
_QUIET_MARGIN = 2.0  # seconds past the end of quiet hours (a retry may be claimed up to a second early)


def rules_of(spec: ProviderSpec) -> list[AlertRule]:
    """The connection's alert rules (``settings.rules``); ConfigError when one is malformed."""
    try:
        return [AlertRule.model_validate(r) for r in spec.settings.get("rules") or []]
    except ValidationError as exc:
        raise ConfigError(f"slack rules are invalid: {exc}") from exc


def _score(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


_SIDE = {True: "internal", False: "external", None: "unknown"}
MAX_SPEAKERS = 5  # speakers listed in one alert


def _speaker_lines(speakers: list[SpeakerRow]) -> str:
    """``• *Jane Buyer* (external): Trust Score 38, V/A/D 0.31/0.72/0.40, talk 42%`` per speaker."""
    lines = []
    for s in speakers[:MAX_SPEAKERS]:
        vad = " / ".join(_score(v, 2) for v in (s.valence, s.arousal, s.dominance))
        lines.append(
            f"• *{s.label}* ({_SIDE[s.internal]}): Trust Score {_score(s.trust_score)}, "
            f"V/A/D {vad}, talk {100 * s.talk_share:.0f}%"
        )
    more = len(speakers) - MAX_SPEAKERS
    return "\n".join(lines + ([f"… and {more} more"] if more > 0 else []))


def named_for(view: ResultView, rules: list[AlertRule]) -> tuple[str, list[SpeakerRow]]:
    """Which speakers a channel's alert names, and the heading: those its speaker rules matched, else
    every named speaker of the result."""
    matched: list[SpeakerRow] = []
    for rule in rules:
        matched += [s for s in rule.targets(view) if s not in matched]
    if matched:
        sides = sorted({_SIDE[s.internal] for s in matched})
        return f"{' and '.join(sides).capitalize()} speaker(s) the rule matched", matched
    return "Speakers", [s for s in view.speakers if s.named]


def blocks_for(
    view: ResultView, speakers: tuple[str, list[SpeakerRow]] = ("Speakers", [])
) -> list[dict[str, Any]]:
    """The Block Kit layout of one alert: header, scores, the speakers named, top evidence and a link."""
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
    heading, named = speakers
    if named:
        text = f"*{heading}*\n{_speaker_lines(named)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
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


def _summary(view: ResultView, named: Sequence[SpeakerRow] = ()) -> str:
    """The notification text: the meeting's score, or the matched speakers' own."""
    if named:
        who = ", ".join(f"{s.label} Trust Score {_score(s.trust_score)}" for s in named[:MAX_SPEAKERS])
        return f"EchoDepth analysis {view.job_id}: {who} ({view.modality})"
    return f"EchoDepth analysis {view.job_id}: Trust Score {_score(view.trust_score)} ({view.modality})"


class SlackSink:
    """Posts analysis alerts (and rule summaries) to the channels of the tenant's matching rules.

    Quiet hours: a channel whose every matching rule is in its quiet hours (local time, ``timezone`` of the
    connection unless the rule names one) is held: the delivery goes back to the queue with ``retry_after``
    = the end of the quiet hours, and is posted then (channels outside quiet hours are posted at once; the
    held ones are found unposted on the retry). Summaries are held the same way.
    """

    key = "slack"
    kind: Literal["sink"] = "sink"
    display_name = "Slack"
    events = frozenset({"analysis.completed", "analysis.failed"})
    settings_model = SlackSettings
    connection_settings = SlackConnectionSettings

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))

    def _client(self, session: HttpSession, spec: ProviderSpec) -> client.SessionWebClient:
        wait = float(spec.settings.get("inline_retry_after_max_seconds", 1))
        return client.SessionWebClient(session, spec, wait)

    def _already_posted(
        self, web: client.SessionWebClient, channel: str, message_id: str, depth: int, kind: str
    ) -> bool:
        history = client.call(
            web, "conversations.history", form=True, channel=channel, limit=depth, include_all_metadata="true"
        )
        for item in history.get("messages") or []:
            meta = item.get("metadata") or {}
            if meta.get("event_type") == kind and meta.get("event_payload", {}).get("event_id") == message_id:
                return True
        return False

    def _post(
        self,
        web: client.SessionWebClient,
        channel: str,
        message: OutboundMessage,
        content: tuple[str, list[dict[str, Any]]],
        kind: str,
        payload: dict[str, str],
    ) -> None:
        text, blocks = content
        client.call(
            web,
            "chat.postMessage",
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            metadata={"event_type": kind, "event_payload": {"event_id": message.id, **payload}},
        )

    def _held_for(self, spec: ProviderSpec, rules: list[AlertRule]) -> float:
        """Seconds until the channel of ``rules`` may be posted to (0: now); all must be quiet to hold."""
        tz, now = str(spec.settings.get("timezone") or "UTC"), self.clock()
        waits = [r.quiet_hours.held_for(now, tz) if r.quiet_hours else 0.0 for r in rules]
        return min(waits) if waits else 0.0

    def _send(
        self,
        session: HttpSession,
        spec: ProviderSpec,
        message: OutboundMessage,
        by_channel: dict[str, list[AlertRule]],
        post: Callable[[client.SessionWebClient, str], None],
        kind: str,
    ) -> DeliveryReceipt:
        """Post to each channel not in quiet hours that lacks this event; hold the rest (TransientError)."""
        held = {c: w for c, rules in by_channel.items() if (w := self._held_for(spec, rules)) > 0}
        web = self._client(session, spec)  # makes no call by itself
        depth = int(spec.settings.get("history_depth", 100))
        posted = 0
        for channel in [c for c in by_channel if c not in held]:
            if self._already_posted(web, channel, message.id, depth, kind):
                log.info("slack: %s already posted to %s", message.id, channel)
                continue
            post(web, channel)
            posted += 1
        if held:
            wait = min(held.values()) + _QUIET_MARGIN
            raise TransientError(
                client.VENDOR, "quiet_hours", f"held for {len(held)} channel(s) in quiet hours", None, wait
            )
        return DeliveryReceipt(200, f"posted to {posted} of {len(by_channel)} matching channels")

    def summaries_due(self, spec: ProviderSpec, now: datetime) -> list[SummaryPeriod]:
        """The latest complete day or week of every summary rule (local to the connection's timezone)."""
        return summary.due(rules_of(spec), now, str(spec.settings.get("timezone") or "UTC"))

    def _deliver_summary(
        self, session: HttpSession, spec: ProviderSpec, message: OutboundMessage
    ) -> DeliveryReceipt:
        data: dict[str, Any] = dict(message.payload.get("data") or {})
        target = str(data.get("target") or "")
        rules = [r for r in rules_of(spec) if r.summary and r.channel == target]
        if not rules:
            return DeliveryReceipt(200, "no summary rule for this channel any more")
        content = (summary.summary_text(data), summary.summary_blocks(data))

        def post(web: client.SessionWebClient, channel: str) -> None:
            self._post(web, channel, message, content, SUMMARY_METADATA_EVENT, {"key": str(data.get("key"))})

        return self._send(session, spec, message, {target: rules}, post, SUMMARY_METADATA_EVENT)

    def deliver(self, session: HttpSession, spec: ProviderSpec, message: OutboundMessage) -> DeliveryReceipt:
        """Post one alert per matching rule's channel, skipping channels that already have it."""
        if message.type == SUMMARY_EVENT:
            return self._deliver_summary(session, spec, message)
        view = ResultView.of(message.payload.get("data") or {}, str(spec.settings.get("result_url") or ""))
        by_channel: dict[str, list[AlertRule]] = {}
        for rule in rules_of(spec):
            if rule.matches(message.type, view):
                by_channel.setdefault(rule.channel, []).append(rule)

        def post(web: client.SessionWebClient, channel: str) -> None:
            heading, named = named_for(view, by_channel[channel])
            targeted = named if any(r.speaker != "any" for r in by_channel[channel]) else []
            content = (_summary(view, targeted), blocks_for(view, (heading, named)))
            self._post(web, channel, message, content, METADATA_EVENT, {"job_id": view.job_id})

        return self._send(session, spec, message, by_channel, post, METADATA_EVENT)
