"""The console in headless chromium: sign-in, an analysis from upload to result, the charts and the player,
the Jobs page, CSRF refusal and scope gating; no page may log a console error (the ``watched`` fixture)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.storage.models import utcnow
from tests.console.conftest import ADMIN, READER, ConsoleSite, Watched, screenshot, sign_in
from tests.engine.media_factory import talking_head

pytestmark = pytest.mark.browser

SECONDS = 6.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6 s talking-head MP4 made from the fixture photos and speech (tests/fixtures)."""
    return talking_head(tmp_path_factory.mktemp("media") / "talking_head.mp4", seconds=SECONDS)


def _chart(page: Any, element_id: str, expression: str) -> Any:
    """Evaluate ``expression`` on the ECharts instance drawn in ``#element_id`` (``c``)."""
    chart = f"echarts.getInstanceByDom(document.getElementById('{element_id}'))"
    return page.evaluate(f"() => {{ const c = {chart}; return {expression}; }}")


def _upload_and_wait(page: Any, clip: Path) -> tuple[str, list[str]]:
    """Upload ``clip`` on the Analyse page; the job id and every stage the progress card showed."""
    page.get_by_label(re.compile("Video, audio or image")).set_input_files(str(clip))
    page.get_by_role("button", name="Upload and analyse").click()
    page.wait_for_selector("#upload-progress[value='100']")
    card = page.wait_for_selector(".progress-card")
    screenshot(page, "analyse")
    job_id = str(card.get_attribute("data-job"))
    seen: list[str] = []
    for _ in range(240):
        if "/console/result/" in page.url:
            break
        status = page.evaluate("() => document.querySelector('.progress-card')?.dataset.status || null")
        if status and status not in seen:
            seen.append(status)
        page.wait_for_timeout(250)
    page.wait_for_url(f"**/console/result/{job_id}")
    page.wait_for_selector("[data-result][data-drawn='true']")
    screenshot(page, "result")
    return job_id, seen


def test_sign_in_lands_on_analyse_and_sign_out_ends_the_session(site: ConsoleSite, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{site.url}/console/jobs")
    page.wait_for_url(re.compile(r"/console/sign-in\?next=/console/jobs"))
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong email or password."
    watched.errors.clear()  # the 401 answer of the refused sign-in is logged by chromium; it is the point
    sign_in(page, site)
    menu = [a.inner_text() for a in page.locator("nav[aria-label=Main] a").all()]
    assert menu == ["Analyse", "Jobs", "Live", "Integrations", "Webhooks", "Settings"]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in")
    page.goto(f"{site.url}/console/analyse")
    assert "/console/sign-in" in page.url


def test_an_uploaded_video_goes_from_progress_to_its_result_with_charts_and_a_synced_player(
    site: ConsoleSite, watched: Watched, clip: Path
) -> None:
    page = watched.page
    sign_in(page, site)
    job_id, stages = _upload_and_wait(page, clip)
    assert stages and stages[0] in ("queued", "processing") and "processing" in stages
    result = page.request.get(f"{site.url}/console/result/{job_id}/json").json()
    seconds = result["segments"]
    assert len(seconds) >= int(SECONDS)
    assert _chart(page, "timeline", "c.getOption().series.map(s => s.data.length)") == [len(seconds)] * 4
    aus = sorted({au for s in seconds for au in s["au"]})
    assert _chart(page, "heatmap", "c.getOption().yAxis[0].data.length") == len(aus)
    assert _chart(page, "heatmap", "c.getOption().yAxis[0].data[0]").startswith("AU01 inner brow raiser")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.locator("#timeline").scroll_into_view_if_needed()
    x, y = _chart(page, "timeline", "c.convertToPixel({gridIndex: 0}, [3, 0.5])")
    box = page.locator("#timeline").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    assert abs(page.evaluate("() => document.getElementById('player').currentTime") - 3.0) < 0.2
    page.get_by_role("button", name=re.compile(r"^at 0:0[1-5]")).first.click()
    assert page.evaluate("() => document.getElementById('player').currentTime") >= 1.0


def test_a_reopened_result_says_the_media_is_gone_and_plays_a_local_copy(
    site: ConsoleSite, watched: Watched, clip: Path
) -> None:
    page = watched.page
    sign_in(page, site)
    job_id, _ = _upload_and_wait(page, clip)
    page.goto(f"{site.url}/console/result/{job_id}")
    page.wait_for_selector("[data-result][data-drawn='true']")
    assert page.locator("#player").is_hidden()
    assert "does not keep media" in page.locator("[data-media-gone]").inner_text()
    page.get_by_label("Your copy of the video").set_input_files(str(clip))
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert page.locator("#player").is_visible()
    assert page.locator("#heatmap").get_attribute("data-rows") == "18"


@pytest.fixture
def many_jobs(site: ConsoleSite) -> Iterator[list[str]]:
    """23 finished text jobs and 3 audio ones of the tenant (yesterday and today), removed afterwards."""
    store = site.runtime.store
    made = [
        store.create_completed_job(site.tenant_id, m, {}, "1", {}, utcnow() - timedelta(days=d)).id
        for m, d in [("text", i % 2) for i in range(23)] + [("audio", 0)] * 3
    ]
    yield made
    for job_id in made:
        store.delete_job(site.tenant_id, job_id)


def test_jobs_filter_page_and_erase_after_confirmation(
    site: ConsoleSite, watched: Watched, many_jobs: list[str]
) -> None:
    page = watched.page
    sign_in(page, site)
    page.goto(f"{site.url}/console/jobs")
    screenshot(page, "jobs")
    assert page.locator("tbody tr[data-job]").count() == 20
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url(re.compile("cursor="))
    assert page.locator("tbody tr[data-job]").count() >= 6
    page.get_by_label("Modality").select_option("audio")
    page.wait_for_url(re.compile("modality=audio"))
    rows = page.locator("tbody tr[data-job]")
    assert rows.count() == 3
    first = str(rows.first.get_attribute("data-job"))
    page.once("dialog", lambda d: d.dismiss())
    rows.first.get_by_role("button", name=re.compile("Delete")).click()
    assert site.runtime.store.get_job(site.tenant_id, first) is not None
    page.once("dialog", lambda d: d.accept())
    rows.first.get_by_role("button", name=re.compile("Delete")).click()
    page.wait_for_selector("tr.erased")
    assert site.runtime.store.get_job(site.tenant_id, first) is None
    assert page.locator("tbody tr[data-job]").count() == 2


def test_a_post_without_the_csrf_token_is_refused(
    site: ConsoleSite, watched: Watched, many_jobs: list[str]
) -> None:
    page = watched.page
    sign_in(page, site)
    status = page.evaluate(
        "async (id) => (await fetch(`/console/jobs/${id}/delete`, {method: 'POST'})).status", many_jobs[0]
    )
    assert status == 403
    assert site.runtime.store.get_job(site.tenant_id, many_jobs[0]) is not None
    watched.errors.clear()  # chromium logs the refused request; the refusal is what this test wants


def test_a_reader_sees_jobs_and_results_but_not_analyse(
    site: ConsoleSite, watched: Watched, many_jobs: list[str]
) -> None:
    page = watched.page
    sign_in(page, site, READER)
    assert page.url.endswith("/console/jobs")
    assert [a.inner_text() for a in page.locator("nav[aria-label=Main] a").all()] == ["Jobs"]
    assert page.get_by_role("button", name=re.compile("Delete")).count() == 0
    response = page.goto(f"{site.url}/console/analyse")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="Not permitted").is_visible()
    watched.errors.clear()  # the 403 page's status is logged by chromium


def test_pages_render_without_console_errors_at_phone_width(site: ConsoleSite, watched: Watched) -> None:
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{site.url}/console/sign-in")
    sign_in(page, site)
    job = site.runtime.store.create_completed_job(site.tenant_id, "text", {}, "1", {}, utcnow())
    pages = ("analyse", "jobs", "live", "integrations", "webhooks", "settings", "account", f"result/{job.id}")
    for path in (f"/console/{name}" for name in pages):
        page.goto(site.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways at 390 px ({width} px)"
    page.goto(f"{site.url}/console/analyse")
    page.get_by_label(re.compile("Text")).fill(
        "I am really pleased with how the demo went. The pricing worries me."
    )
    page.get_by_role("button", name="Analyse the text").click()
    page.wait_for_url(re.compile("/console/result/"), timeout=60_000)
    page.wait_for_selector("[data-result][data-drawn='true']")
    assert page.locator("[data-trust-score]").inner_text() != ""
    assert page.locator(".sentences li").count() == 2
