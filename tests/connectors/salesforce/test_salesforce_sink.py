"""The Salesforce Sink driven through simple-salesforce against the Salesforce emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.salesforce import CONNECTOR
from core.delivery.session import GuardedSession
from core.registry import load_provider_spec
from core.sdk import AuthError, Credentials, OutboundMessage, PermanentError, ProviderSpec, TransientError
from tests.emulators.salesforce import SalesforceEmulator, salesforce_emulator


@pytest.fixture
def emulator() -> Iterator[SalesforceEmulator]:
    with salesforce_emulator() as emu:
        yield emu


def _spec(**settings: Any) -> ProviderSpec:
    base = load_provider_spec("salesforce")
    merged = {
        **base.settings,
        "result_url": "https://app.test/results/{job_id}",
        "skip_domains": ["ourco.io"],
    }
    return base.model_copy(update={"settings": {**merged, **settings}})


def _session(emu: SalesforceEmulator) -> GuardedSession:
    token = emu.mint(with_refresh=False)[0]
    creds = Credentials(access_token=token, extra={"instance_url": f"{emu.base}/instance"})
    return GuardedSession(creds, allow_private=True, timeout=5)


def _message(emails: list[str], msg_id: str = "msg_1", **crm: Any) -> OutboundMessage:
    data = {
        "job_id": "job-9",
        "modality": "audio",
        "trust_score": 41.26,
        "vad": {"valence": 0.4, "arousal": 0.66666, "dominance": 0.5},
        "emotions": {"anger": 0.5, "joy": 0.2},
        "credibility": [0.1, 0.9],
        "completed_at": "2026-11-24T10:00:00+00:00",
        "metadata": {
            "crm": {"emails": emails, **crm},
            "duration_seconds": 1820,
            "title": "Acme pricing call",
        },
    }
    return OutboundMessage(msg_id, "analysis.completed", datetime.now(UTC), "salesforce", {"data": data})


def _tasks(emu: SalesforceEmulator) -> list[dict[str, Any]]:
    return list(emu.records.get("Task", {}).values())


def test_contact_fields_and_one_call_task_with_the_open_opportunity(emulator: SalesforceEmulator) -> None:
    contact = emulator.add("Contact", Email="ana@acme.io")
    opp = emulator.add("Opportunity", Name="Acme renewal", IsClosed=False)
    emulator.add("OpportunityContactRole", ContactId=contact, OpportunityId=opp, CreatedDate="2026-01-01")
    CONNECTOR.deliver(_session(emulator), _spec(), _message(["ana@acme.io"]))
    fields = emulator.records["Contact"][contact]
    assert fields["EchoDepth_Trust_Score__c"] == 41.3
    assert fields["EchoDepth_Arousal__c"] == 0.667
    assert fields["EchoDepth_Dominant_Emotion__c"] == "anger"
    assert fields["EchoDepth_Result_URL__c"] == "https://app.test/results/job-9"
    assert emulator.records["Opportunity"][opp]["EchoDepth_Trust_Score__c"] == 41.3
    [task] = _tasks(emulator)
    assert task["TaskSubtype"] == "Call" and task["Status"] == "Completed"
    assert task["WhoId"] == contact and task["WhatId"] == opp
    assert task["CallDurationInSeconds"] == 1820 and task["ActivityDate"] == "2026-11-24"
    assert "Acme pricing call" in task["Description"] and "job-9" in task["Description"]


def test_a_lead_is_used_when_no_contact_has_the_email(emulator: SalesforceEmulator) -> None:
    lead = emulator.add("Lead", Email="bo@newco.io", IsConverted=False)
    CONNECTOR.deliver(_session(emulator), _spec(), _message(["bo@newco.io"]))
    assert emulator.records["Lead"][lead]["EchoDepth_Trust_Score__c"] == 41.3
    [task] = _tasks(emulator)
    assert task["WhoId"] == lead and "WhatId" not in task


def test_redelivery_never_creates_a_second_task(emulator: SalesforceEmulator) -> None:
    emulator.add("Contact", Email="ana@acme.io")
    session = _session(emulator)
    for msg_id in ("msg_1", "msg_1", "msg_replayed"):
        CONNECTOR.deliver(session, _spec(), _message(["ana@acme.io"], msg_id=msg_id))
    assert len(_tasks(emulator)) == 1


def test_consumer_and_own_domains_are_skipped(emulator: SalesforceEmulator) -> None:
    emulator.add("Contact", Email="joe@gmail.com")
    emulator.add("Contact", Email="me@ourco.io")
    receipt = CONNECTOR.deliver(_session(emulator), _spec(), _message(["joe@gmail.com", "me@ourco.io"]))
    assert (
        receipt.detail
        == "0 of 0 participants matched; meeting-level figures: no speaker named with an e-mail"
        and emulator.api_calls == []
    )


def test_mapping_overrides_apply(emulator: SalesforceEmulator) -> None:
    contact = emulator.add("Contact", Email="ana@acme.io")
    emulator.installed["Contact"]["Trust__c"] = "double"  # the org has the field the override names
    override = {"Contact": {"Trust__c": {"from": "trust_score", "type": "Number", "round": 0}}}
    CONNECTOR.deliver(_session(emulator), _spec(mapping=override), _message(["ana@acme.io"]))
    assert emulator.records["Contact"][contact]["Trust__c"] == 41


def test_a_missing_custom_field_is_a_permanent_error(emulator: SalesforceEmulator) -> None:
    emulator.add("Contact", Email="ana@acme.io")
    emulator.missing_fields["Contact"] = {"EchoDepth_Valence__c"}
    with pytest.raises(PermanentError) as caught:
        CONNECTOR.deliver(_session(emulator), _spec(), _message(["ana@acme.io"]))
    assert caught.value.code == "INVALID_FIELD"


def test_invalid_session_is_an_auth_error_for_the_vault_to_refresh(emulator: SalesforceEmulator) -> None:
    emulator.add("Contact", Email="ana@acme.io")
    session = _session(emulator)
    emulator.expire_access()
    with pytest.raises(AuthError) as caught:
        CONNECTOR.deliver(session, _spec(), _message(["ana@acme.io"]))
    assert caught.value.code == "INVALID_SESSION_ID"


def test_writes_stop_near_the_daily_api_limit(emulator: SalesforceEmulator) -> None:
    emulator.add("Contact", Email="ana@acme.io")
    emulator.api_used = 14_000
    with pytest.raises(TransientError) as caught:
        CONNECTOR.deliver(_session(emulator), _spec(), _message(["ana@acme.io"]))
    assert caught.value.code == "near_daily_limit" and caught.value.retry_after == 3600
    assert _tasks(emulator) == []


def test_setup_creates_missing_custom_fields_through_tooling(emulator: SalesforceEmulator) -> None:
    checked = CONNECTOR.setup(_session(emulator), _spec(), create=False)
    assert "Contact.EchoDepth_Trust_Score__c (Number)" in checked["missing"]
    assert emulator.custom_fields == {}
    report = CONNECTOR.setup(_session(emulator), _spec())
    assert "Lead.EchoDepth_Valence__c" in report["created"] and "Task.EchoDepth_Key__c" in report["created"]
    assert emulator.custom_fields["Contact"]["EchoDepth_Trust_Score__c"] == {
        "label": "EchoDepth Trust Score",
        "type": "Number",
        "precision": 18,
        "scale": 1,
    }
    assert emulator.custom_fields["Activity"]["EchoDepth_Key__c"]["externalId"] is True
    again = CONNECTOR.setup(_session(emulator), _spec())
    assert again["created"] == [] and again["missing"] == [] and again["manual"] == []


def test_a_task_created_by_a_concurrent_attempt_is_not_an_error(emulator: SalesforceEmulator) -> None:
    emulator.add("Contact", Email="ana@acme.io")
    # another attempt creates the Task right after our existence check answered "none"
    emulator.after_next_query = {"Task": {"EchoDepth_Key__c": "echodepth-job-9", "TaskSubtype": "Call"}}
    CONNECTOR.deliver(_session(emulator), _spec(), _message(["ana@acme.io"]))
    assert len(_tasks(emulator)) == 1


def test_unmatched_participants_are_only_logged_by_default(emulator: SalesforceEmulator) -> None:
    receipt = CONNECTOR.deliver(_session(emulator), _spec(), _message(["new.person@initech.com"]))
    assert (
        receipt.detail
        == "0 of 1 participants matched; meeting-level figures: no speaker named with an e-mail"
    )
    assert "Lead" not in emulator.records and _tasks(emulator) == []


def test_create_unmatched_makes_one_lead_per_participant_and_a_replay_makes_none(
    emulator: SalesforceEmulator,
) -> None:
    spec, session = _spec(create_unmatched=True), _session(emulator)
    emails = ["dana.scully@initech.com", "joe@gmail.com", "me@ourco.io"]
    for msg_id in ("msg_1", "msg_1", "msg_replayed"):
        receipt = CONNECTOR.deliver(session, spec, _message(emails, msg_id=msg_id))
        assert (
            receipt.detail
            == "1 of 1 participants matched; meeting-level figures: no speaker named with an e-mail"
        )
    [lead] = emulator.records["Lead"].values()
    assert lead["Email"] == "dana.scully@initech.com" and lead["LeadSource"] == "EchoDepth"
    assert (lead["FirstName"], lead["LastName"], lead["Company"]) == ("Dana", "Scully", "Initech")
    assert lead["EchoDepth_Trust_Score__c"] == 41.3
    [task] = _tasks(emulator)
    assert task["WhoId"] == lead["Id"]
    assert emulator.api_calls.count("POST composite/sobjects") == 1  # the replays found the Lead by email
    assert "Contact" not in emulator.records  # consumer and own domains are never created


def test_a_created_lead_takes_the_participant_name_from_metadata(emulator: SalesforceEmulator) -> None:
    message = _message([], msg_id="msg_1")
    message.payload["data"]["metadata"]["participants"] = [{"email": "k@globex.io", "name": "Kim Ng"}]
    CONNECTOR.deliver(_session(emulator), _spec(create_unmatched=True), message)
    [lead] = emulator.records["Lead"].values()
    assert (lead["FirstName"], lead["LastName"], lead["Company"]) == ("Kim", "Ng", "Globex")


def _grants(emu: SalesforceEmulator, parent: str) -> dict[str, dict[str, Any]]:
    rows = emu.records.get("FieldPermissions", {}).values()
    return {r["Field"]: r for r in rows if r["ParentId"] == parent}


def test_setup_grants_field_level_security_through_a_permission_set_once(
    emulator: SalesforceEmulator,
) -> None:
    report = CONNECTOR.setup(_session(emulator), _spec())
    [(ps_id, ps)] = emulator.records["PermissionSet"].items()
    assert ps["Name"] == "EchoDepth_Fields"
    grants = _grants(emulator, ps_id)
    wanted = {f"Contact.{n}" for n in emulator.custom_fields["Contact"]} | {"Task.EchoDepth_Key__c"}
    assert wanted <= set(grants) and len(grants) == 10 + 10 + 3 + 1
    assert all(g["PermissionsRead"] and g["PermissionsEdit"] for g in grants.values())
    assert grants["Task.EchoDepth_Key__c"]["SobjectType"] == "Task"
    assert (
        "field-level security (read, edit) on 24 fields in permission set EchoDepth_Fields"
        in report["created"]
    )
    [assign] = report["manual"]  # nothing is assigned: the admin chooses who gets the permission set
    assert "assign permission set EchoDepth_Fields" in assign
    assert "PermissionSetAssignment" not in emulator.records
    again = CONNECTOR.setup(_session(emulator), _spec())
    assert again["manual"] == [] and len(emulator.records["FieldPermissions"]) == 24
    assert (
        "field-level security (read, edit) on 24 fields in permission set EchoDepth_Fields"
        in again["present"]
    )


def test_setup_grants_configured_profiles_and_names_unknown_ones(emulator: SalesforceEmulator) -> None:
    profile = emulator.add("Profile", Name="Sales User")
    owned = emulator.add("PermissionSet", Name="X00ex000001", IsOwnedByProfile=True, ProfileId=profile)
    settings = {"permission_set": "EchoDepth_Fields", "profiles": ["Sales User", "Nobody"]}
    report = CONNECTOR.setup(_session(emulator), _spec(field_permissions=settings))
    assert len(_grants(emulator, owned)) == 24
    assert "profile Nobody (for field-level security)" in report["missing"]


def test_setup_prints_the_fls_steps_when_the_org_refuses(emulator: SalesforceEmulator) -> None:
    emulator.refuse_setup_objects = True
    report = CONNECTOR.setup(_session(emulator), _spec())
    assert "Lead.EchoDepth_Valence__c" in report["created"]  # the fields are still created
    [manual] = report["manual"]
    assert "field-level security (read and edit)" in manual and "Contact.EchoDepth_Trust_Score__c" in manual
    assert "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY" in manual
    assert "FieldPermissions" not in emulator.records
