"""SOQL ``IN`` lists cut to what one ``GET /query`` may carry.

simple-salesforce sends a query as ``GET …/query/?q=<SOQL>`` (form-encoded). The REST API takes a request
URI of at most 16,384 bytes and a SOQL statement of at most 100,000 characters
(https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_soslsoql.htm),
so the values of an ``IN`` list go in as many queries as their encoded length needs, not a fixed count.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any
from urllib.parse import quote_plus

from simple_salesforce import Salesforce, format_soql

from connectors.salesforce import client

__all__ = ["QUERY_BUDGET", "in_parts", "rows"]

QUERY_BUDGET = 15_000  # encoded bytes of ?q=…; the rest of the 16,384-byte URI is the path (~40 bytes)
_SEPARATOR = len(quote_plus(", "))


def in_parts(template: str, values: Sequence[str], **fixed: Any) -> Iterator[str]:
    """``template`` (one ``{values}`` IN list) with as many values as fit the budget, query by query."""
    if not values:
        return
    base = len(quote_plus(format_soql(template, values=[""], **fixed)))
    part: list[str] = []
    size = base
    for value in values:
        cost = len(quote_plus(format_soql("{v}", v=value))) + _SEPARATOR
        if part and size + cost > QUERY_BUDGET:
            yield format_soql(template, values=part, **fixed)
            part, size = [], base
        part.append(value)
        size += cost
    yield format_soql(template, values=part, **fixed)


def rows(
    sf: Salesforce, conn: client.Connection, template: str, values: Sequence[str]
) -> list[dict[str, Any]]:
    """Every record of ``template`` for all ``values`` (all pages of every query)."""
    found: list[dict[str, Any]] = []
    for soql in in_parts(template, values):
        page: dict[str, Any] = client.call(conn, partial(sf.query_all, soql))
        found += list(page.get("records", []))
    return found
