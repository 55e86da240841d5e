"""The EchoDepth web console, served by the API itself at ``/console`` (docs/console.md).

Server-rendered Jinja2 pages, htmx for the live parts and Apache ECharts for the plots, all committed under
``static/`` (nothing is fetched at run time). Sign-in uses the tenant's OAuth users; what a user sees follows
their scopes.
"""

from core.console.router import install_console

__all__ = ["install_console"]
