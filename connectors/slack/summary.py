"""Daily and weekly summaries of a Slack rule: which period is due, and its Block Kit message.

A rule with ``summary: daily|weekly`` gets, once its local day (or Monday-to-Monday week) has ended, one
message with the number of analyses it matched in that period, their mean Trust Score and the lowest ones
with links. Core counts the analyses and delivers the summary like any event (``core.sdk.summaries``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.slack.models import AlertRule, period_of
from core.sdk.summaries import SummaryPeriod

__all__ = ["due", "summary_blocks", "summary_text"]


def _rule_tag(rule: AlertRule) -> str:
    """A short fingerprint of what the rule summarises (stable when other rules change or move)."""
    what = rule.model_dump(
        include={"channel", "summary", "modalities", "sources", "trust_below", "trust_above"}
    )
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:8]


def due(rules: list[AlertRule], now: datetime, tz: str) -> list[SummaryPeriod]:
    """The latest complete period of every summary rule, as of ``now`` in the tenant's time zone."""
    found = []
    for rule in (r for r in rules if r.summary):
        assert rule.summary is not None
        start, end = period_of(rule.summary, now, tz)
        label = f"{start:%A %d %B %Y}" if rule.summary == "daily" else f"week of {start:%d %B %Y}"
        found.append(
            SummaryPeriod(
                key=f"{rule.channel}:{rule.summary}:{start.date().isoformat()}:{_rule_tag(rule)}",
                target=rule.channel,
                label=label,
                start=start,
                end=end,
                modalities=tuple(rule.modalities),
                sources=tuple(rule.sources),
                lowest=rule.summary_lowest,
            )
        )
    return found


def _score(value: Any) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{value:.0f}"


def summary_text(summary: Mapping[str, Any]) -> str:
    """The notification text of a summary."""
    return (
        f"EchoDepth summary, {summary.get('label', '')}: {summary.get('count', 0)} analyses, "
        f"mean Trust Score {_score(summary.get('mean_trust_score'))}"
    )


def summary_blocks(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Header, count and mean Trust Score, and the lowest analyses with links."""
    fields = [
        f"*Analyses*\n{summary.get('count', 0)}",
        f"*Mean Trust Score*\n{_score(summary.get('mean_trust_score'))}",
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"EchoDepth summary: {summary.get('label')}"},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    lines = []
    for item in summary.get("lowest") or []:
        name = str(item.get("title") or item.get("job_id"))
        shown = f"<{item['link']}|{name}>" if item.get("link") else name
        lines.append(f"• {shown}: Trust Score {_score(item.get('trust_score'))}")
    if lines:
        text = "*Lowest Trust Scores*\n" + "\n".join(lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    return blocks
