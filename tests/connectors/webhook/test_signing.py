"""Our Standard Webhooks signatures, checked by the reference ``standardwebhooks`` verifier."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from connectors.webhook.sink import encode
from connectors.webhook.webhooks import signature_header, verify
from core.delivery.secrets import new_webhook_secret
from core.sdk import OutboundMessage


def _headers(secrets: list[str], body: bytes, msg_id: str = "msg_1") -> dict[str, str]:
    ts = int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature_header(secrets, msg_id, ts, body),
    }


def test_reference_verifier_accepts_our_signature() -> None:
    secret = new_webhook_secret()
    body = encode(
        OutboundMessage("msg_1", "analysis.completed", datetime.now(UTC), "x", {"ü": 1, "a": [1, 2]})
    )
    assert Webhook(secret).verify(body, _headers([secret], body)) == {"ü": 1, "a": [1, 2]}


def test_each_of_two_overlapping_secrets_verifies() -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    body = b'{"k":1}'
    headers = _headers([new, old], body)
    assert len(headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)
        assert verify(headers, body, secret)


def test_tampered_body_or_foreign_secret_fails() -> None:
    secret = new_webhook_secret()
    headers = _headers([secret], b'{"k":1}')
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"k":2}', headers)
    assert not verify(headers, b'{"k":2}', secret)
    assert not verify(headers, b'{"k":1}', new_webhook_secret())
    assert not verify({}, b'{"k":1}', secret)


def test_secrets_have_the_standard_format() -> None:
    secret = new_webhook_secret()
    assert secret.startswith("whsec_")
    Webhook(secret)  # decodes as base64 of the key bytes


def test_the_receiver_verifies_a_delivery_with_the_reference_verifier() -> None:
    from connectors.webhook import CONNECTOR
    from core.delivery.session import GuardedSession
    from core.registry import load_provider_spec
    from core.sdk import Credentials
    from tests.emulators import contract
    from tests.emulators.webhook_receiver import webhook_receiver

    secret = new_webhook_secret()
    message = OutboundMessage("msg_c1", "analysis.completed", datetime.now(UTC), "", {"job_id": "j1"})
    with webhook_receiver() as receiver:
        receiver.secret = secret
        session = GuardedSession(Credentials(signing_secrets=(secret,)), allow_private=True, timeout=5)
        before = contract.MADE[("webhook", "deliver")]
        sent = OutboundMessage(message.id, message.type, message.timestamp, receiver.url, message.payload)
        assert CONNECTOR.deliver(session, load_provider_spec("webhook"), sent).status_code == 200
        assert receiver.wait_accepted(1) == [{"job_id": "j1"}]
        assert contract.MADE[("webhook", "deliver")] == before + 1
