"""A worker whose lease ran out (a long pause, a slow machine) while the sweep gave its job to another
attempt finishes late: it may not store its result, and it must not delete the new attempt's media."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from core.jobs import queue as job_queue
from core.runtime import Runtime
from core.storage.models import Job, utcnow
from core.storage.store import MediaItem, NewInput
from engine.report import EngineInfo, Report
from tests.conftest import embedded_settings


def test_a_stale_attempt_leaves_the_new_attempts_media_in_the_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = Runtime(embedded_settings(tmp_path))  # no worker threads: the test is the worker
    try:
        tenant = rt.store.ensure_tenant("acme")
        job = rt.store.create_job(tenant, "audio", NewInput(items=(MediaItem(role="audio"),)), {}, None)
        media = rt.spool.path_for(job.id, 0)
        media.write_bytes(b"RIFF....WAVE")
        taken_over: list[int] = []

        def slow_analysis(claim: object, ctx: object) -> Report:
            with rt.db.session() as s:  # this attempt's lease runs out; the sweep's attempt claims the job
                s.execute(update(Job).where(Job.id == job.id).values(lease_expires_at=utcnow()))
                s.commit()
            second = rt.store.claim(job.id, 60)
            assert second is not None
            taken_over.append(second.attempt)
            return Report(modality="audio", engine=EngineInfo(version="t"))

        monkeypatch.setattr(job_queue, "run_analysis", slow_analysis)
        rt.queue._analyse_job(job.id)
        assert taken_over == [2]
        assert media.exists()  # attempt 2 still needs it
        with rt.db.session() as s:
            found = s.get(Job, job.id)
            assert found is not None and (found.status, found.attempts) == ("processing", 2)
    finally:
        rt.close()
