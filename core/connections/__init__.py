"""Vendor connections: OAuth connect flows, tokens in the vault kept fresh, revoke."""

from core.connections.models import Connection
from core.connections.service import Connections

__all__ = ["Connection", "Connections"]
