"""Slack: analysis alerts as Block Kit messages in channels chosen by per-tenant rules."""

from connectors.slack.sink import SlackSink

CONNECTOR = SlackSink()

__all__ = ["CONNECTOR"]
