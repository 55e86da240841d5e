"""Slack: analysis alerts as Block Kit messages in channels chosen by per-tenant rules.

Files: ``client.py`` the calls (slack-sdk on ``core.sdk.http``); ``models.py`` rules and the result
fields we read; ``summary.py`` daily and weekly summaries; ``settings.py`` the app's settings and what a
tenant may set; ``sink.py`` the plugin. Facts: config/providers/slack.yaml.
"""

from connectors.slack.sink import SlackSink

CONNECTOR = SlackSink()

__all__ = ["CONNECTOR"]
