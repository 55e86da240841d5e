"""Fresh access tokens: refresh ahead of expiry and on a vendor 401, single-flight per connection.

In one process a lock per connection; across processes a Redis lock (``SET NX PX``) when the broker is
Redis, otherwise a database row lock (``SELECT … FOR UPDATE``; SQLite serialises writers itself). After
taking the lock the connection is re-read: a token another worker refreshed meanwhile is reused.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Protocol, TypeVar

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.connections import oauth
from core.connections.models import CLIENT_CREDENTIALS, Connection, url_params
from core.connections.providers import ProviderCatalog
from core.connections.store import ConnectionStore
from core.sdk.errors import AuthError, ConnectorError, TransientError
from core.settings import Settings
from core.storage.models import utcnow

__all__ = ["TokenManager", "Answer"]

log = logging.getLogger("echodepth.connections")
_LOCK_MS = 30_000  # longer than any token call (timeouts are 30 s at most)
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class Answer(Protocol):
    """What ``TokenManager.call`` needs of an HTTP response (requests and httpx both fit)."""

    @property
    def status_code(self) -> int: ...

    def json(self) -> Any: ...


A = TypeVar("A", bound=Answer)
T = TypeVar("T")


def _body(answer: Answer) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


class TokenManager:
    """Hands out access tokens that are valid, refreshing each connection's at most once at a time."""

    def __init__(
        self,
        settings: Settings,
        store: ConnectionStore,
        catalog: ProviderCatalog,
        on_needs_reauth: Callable[[Connection], None],
    ) -> None:
        """``on_needs_reauth`` marks a connection whose grant the vendor refused (and reports it)."""
        self.settings = settings
        self.store = store
        self.catalog = catalog
        self.on_needs_reauth = on_needs_reauth
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        url = settings.broker_url or ""
        self._redis = redis.Redis.from_url(url) if url.startswith(("redis://", "rediss://")) else None

    def _expiring(self, conn: Connection) -> bool:
        ahead = timedelta(seconds=self.settings.oauth_refresh_ahead_seconds)
        return conn.expires_at is not None and conn.expires_at - ahead <= utcnow()

    def access_token(self, connection_id: str, rejected: str | None = None) -> str:
        """A valid access token; pass ``rejected`` after the vendor answered 401 to it."""
        conn = self.store.by_id(connection_id)
        if conn is None or conn.status != "active":
            raise AuthError(
                conn.provider if conn else "unknown", "needs_reauth", "the connection needs re-authorising"
            )
        with self.store.db.session() as s:
            current, _ = self.store.tokens(s, conn)
        if not self._expiring(conn) and current != rejected:
            self.store.touch(connection_id)
            return current
        with self._single_flight(connection_id):
            return self._refresh_locked(connection_id, rejected)

    def _refresh_locked(self, connection_id: str, rejected: str | None) -> str:
        with self.store.db.session() as s:
            conn = s.scalars(select(Connection).where(Connection.id == connection_id).with_for_update()).one()
            access, refresh_token = self.store.tokens(s, conn)
            if conn.status == "active" and not self._expiring(conn) and access != rejected:
                return access  # another worker refreshed it while we waited
            app_only = conn.grant_type == CLIENT_CREDENTIALS
            if conn.status != "active" or not (refresh_token or app_only):
                raise AuthError(conn.provider, "needs_reauth", "the connection cannot be refreshed")
            return self._refresh(s, conn, refresh_token)

    def _fetch(self, conn: Connection, refresh_token: str | None) -> oauth.TokenSet:
        """New tokens: a refresh, or for an app-only connection a new client-credentials token."""
        spec, client, params = (
            self.catalog.spec(conn.provider),
            self.catalog.client(conn.provider),
            url_params(conn),
        )
        if conn.grant_type == CLIENT_CREDENTIALS:
            return oauth.client_credentials(spec, client, params)
        assert refresh_token is not None  # _refresh_locked checked it
        return oauth.refresh(spec, client, refresh_token, params)

    def _refresh(self, s: Session, conn: Connection, refresh_token: str | None) -> str:
        try:
            tokens = self._fetch(conn, refresh_token)
        except AuthError:
            s.rollback()
            log.warning(
                "connection %s (%s): refresh refused; it needs re-authorising", conn.id, conn.provider
            )
            self.on_needs_reauth(conn)
            raise
        except ConnectorError:
            s.rollback()
            self.store.set_status(conn.id, conn.status, failed=True)
            raise
        self.store.refreshed(s, conn, tokens, self.catalog.oauth(conn.provider).account.from_token)
        log.info("connection %s (%s): token refreshed", conn.id, conn.provider)
        return tokens.access_token

    def call(self, connection_id: str, send: Callable[[str], A]) -> A:
        """``send(access_token)``; when the vendor answers that the token is no longer valid (a 401, or
        Salesforce's ``INVALID_SESSION_ID``, Slack's ``token_expired``), refresh once and send again."""
        token = self.access_token(connection_id)
        answer = send(token)
        conn = self.store.by_id(connection_id)
        if conn is None or not oauth.token_rejected(
            self.catalog.spec(conn.provider), answer.status_code, _body(answer)
        ):
            return answer
        log.info("connection %s (%s): the vendor rejected the access token", connection_id, conn.provider)
        return send(self.access_token(connection_id, rejected=token))

    def rejects(self, provider: str, error: AuthError) -> bool:
        """Whether a connector's ``AuthError`` says the vendor rejected the access token (refresh and retry):
        ``token_rejected``, or one of the provider's ``token_rejected.codes`` (Salesforce
        ``INVALID_SESSION_ID``, Slack ``token_expired``, Graph ``InvalidAuthenticationToken``)."""
        if error.code == "token_rejected":
            return True
        return error.code in self.catalog.oauth(provider).token_rejected.codes

    def with_token(self, connection_id: str, act: Callable[[str, bool], T]) -> T:
        """``act(access_token, first)`` for a connector call; when it raises an ``AuthError`` that says the
        vendor rejected the token, refresh once (single-flight) and call ``act`` again with ``first`` False.
        Every Source and Sink call goes through here (``core.sources``, ``core.delivery.sinks``)."""
        token = self.access_token(connection_id)
        try:
            return act(token, True)
        except AuthError as exc:
            conn = self.store.by_id(connection_id)
            if conn is None or not self.rejects(conn.provider, exc):
                raise
            log.info(
                "connection %s (%s): the vendor rejected the token; refreshing once", conn.id, conn.provider
            )
        return act(self.access_token(connection_id, rejected=token), False)

    @contextmanager
    def _single_flight(self, connection_id: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(connection_id, threading.Lock())
        with lock, self._redis_lock(connection_id):
            yield

    @contextmanager
    def _redis_lock(self, connection_id: str) -> Iterator[None]:
        if self._redis is None:
            yield
            return
        key = f"{self.settings.broker_namespace}:oauth-refresh:{connection_id}"
        token = secrets.token_hex(16)
        deadline = time.monotonic() + _LOCK_MS / 1000
        while not self._redis.set(key, token, nx=True, px=_LOCK_MS):
            if time.monotonic() > deadline:
                raise TransientError("vault", "refresh_lock_timeout", "another worker holds the refresh lock")
            time.sleep(0.02)
        try:
            yield
        finally:
            self._redis.eval(_RELEASE, 1, key, token)
