"""Own mail domains per tenant: set and shown by the CLI (audited), stored with the tenant (migration 0009),
and joined to a job's metadata so a named speaker at one is ``internal`` (the rep), not the prospect."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest

from core.jobs.analysis import job_metadata
from core.sdk.errors import InputError
from core.storage.store import NewInput
from tests.conftest import ECHODEPTH_BIN, Backend, settings_env


def _cli(b: Backend, *args: str) -> dict[str, object]:
    out = subprocess.run(
        [ECHODEPTH_BIN, "tenants", *args, "--tenant", "acme"],
        env=settings_env(b.runtime.settings),
        capture_output=True,
        text=True,
        check=True,
    )
    shown: dict[str, object] = json.loads(out.stdout)
    return shown


def test_the_cli_sets_shows_and_clears_own_domains_and_each_change_is_audited(
    make_embedded: Callable[..., Backend],
) -> None:
    b = make_embedded()
    b.runtime.store.ensure_tenant("acme")
    assert _cli(b, "set", "--own-domains", "OurCo.example, ourco.co.uk")["own_domains"] == [
        "ourco.example",
        "ourco.co.uk",
    ]
    assert _cli(b, "show")["own_domains"] == ["ourco.example", "ourco.co.uk"]
    assert _cli(b, "set", "--own-domains", "")["own_domains"] == []
    audit = b.client.get("/v1/audit", headers=b.headers()).json()["data"]
    assert [e["actor"] for e in audit if e["action"] == "tenant.own_domains.set"] == ["cli", "cli"]


def test_a_malformed_domain_is_refused(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    tenant = b.runtime.store.ensure_tenant("acme")
    with pytest.raises(InputError) as caught:
        b.runtime.policies.set_own_domains(tenant, ["ourco.example", "not a domain"], "test")
    assert caught.value.status == 422 and "not a domain" in caught.value.message


def test_the_tenants_own_domains_join_the_jobs_metadata(make_embedded: Callable[..., Backend]) -> None:
    b = make_embedded()
    tenant_id = b.runtime.store.ensure_tenant("acme")
    b.runtime.policies.set_own_domains(tenant_id, ["ourco.example"], "test")
    tenant = b.runtime.store.authenticate(b.key)
    assert tenant is not None
    meta = {"participants": [], "own_domains": ["ourco.co.uk"]}
    job = b.runtime.store.create_job(tenant, "text", NewInput(text="hi"), meta, None)
    read = job_metadata(b.runtime.store.db)(job.id)
    assert read["own_domains"] == ["ourco.co.uk", "ourco.example"]


def test_a_meeting_of_a_tenant_with_own_domains_marks_the_rep_internal(
    make_embedded: Callable[..., Backend],
) -> None:
    from tests.core.test_speaker_names import AUDIO, PEOPLE, TWO, _by_name, _meeting_job

    b = make_embedded()  # no deployment-wide own domains, none in the job: the tenant's setting says
    b.runtime.policies.set_own_domains(b.runtime.store.ensure_tenant("acme"), ["ourco.example"], "test")
    job_id = _meeting_job(b, TWO, "audio", AUDIO / "two_speakers.zoom.vtt", {"participants": PEOPLE})
    speakers = _by_name(b.wait(job_id, timeout=120))
    assert speakers["Alex Rep"]["internal"] is True and speakers["Jane Buyer"]["internal"] is False
