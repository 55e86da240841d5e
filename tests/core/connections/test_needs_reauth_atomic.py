"""``invalid_grant`` marks the connection ``needs_reauth`` and writes ``connection.needs_reauth`` to the
outbox in one transaction: never one without the other, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.sdk.errors import AuthError
from tests.core.connections.conftest import Hub
from tests.emulators.webhook_receiver import WebhookReceiver

_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER outbox_down BEFORE INSERT ON event_outbox "
        "BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION outbox_down() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'outbox unavailable'; "
        "END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER outbox_down BEFORE INSERT ON event_outbox "
        "FOR EACH ROW EXECUTE FUNCTION outbox_down()",
    ],
}


def _break_outbox(hub: Hub) -> None:
    """Make every insert into the outbox fail at the database, as a full disk or a lost link would."""
    engine = hub.runtime.db.engine
    with engine.begin() as c:
        for statement in _TRIGGERS[engine.dialect.name]:
            c.execute(text(statement))


def _connected(hub: Hub) -> str:
    hub.connect()
    [conn] = hub.connections()
    return str(conn["id"])


def _revoke_grant(hub: Hub) -> None:
    hub.emulator.forget_grants()  # the user removed the app at the vendor
    hub.emulator.expire_access()


@pytest.mark.parametrize("hub", ["hubspot"], indirect=True)
def test_invalid_grant_writes_status_and_event_together(hub: Hub, receiver: WebhookReceiver) -> None:
    r = hub.client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["connection.needs_reauth"]},
        headers=hub.headers(),
    )
    receiver.secret = r.json()["secret"]
    conn_id = _connected(hub)
    _revoke_grant(hub)
    with pytest.raises(AuthError):
        hub.runtime.connections.tokens.call(conn_id, hub.api)
    [conn] = hub.connections()
    assert conn["status"] == "needs_reauth" and conn["refresh_failures"] == 1
    [payload] = receiver.wait_accepted(1)
    assert payload["type"] == "connection.needs_reauth" and payload["data"]["connection_id"] == conn_id


def _failed_insert_leaves_the_connection_active(hub: Hub) -> None:
    conn_id = _connected(hub)
    _break_outbox(hub)
    _revoke_grant(hub)
    with pytest.raises(DBAPIError, match="outbox unavailable"):
        hub.runtime.connections.tokens.call(conn_id, hub.api)
    [conn] = hub.connections()
    assert conn["status"] == "active" and conn["refresh_failures"] == 0  # rolled back with the event
    with hub.runtime.db.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM event_outbox")).scalar() == 0


@pytest.mark.parametrize("hub", ["hubspot"], indirect=True)
def test_a_failed_event_insert_rolls_back_the_status_on_sqlite(hub: Hub) -> None:
    _failed_insert_leaves_the_connection_active(hub)


@pytest.mark.parametrize("scaled_hub", ["hubspot"], indirect=True)
def test_a_failed_event_insert_rolls_back_the_status_on_postgres(scaled_hub: Hub) -> None:
    _failed_insert_leaves_the_connection_active(scaled_hub)
