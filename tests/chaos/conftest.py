"""The chaos suite: one scaled deployment (tests/chaos/cluster.py) shared by every scenario of a run; each
scenario uses its own tenant and webhook receiver, and leaves both workers running for the next."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.cluster import Cluster, sink_settings
from tests.chaos.report import FULL, ROWS, table
from tests.emulators.hubspot import HubSpotEmulator, hubspot_emulator
from tests.emulators.webhook_receiver import WebhookReceiver, webhook_receiver


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chaos: kills processes and stores on purpose (tests/chaos, make chaos)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/chaos/" in str(item.fspath):
            item.add_marker(pytest.mark.chaos)
            if FULL:
                item.add_marker(pytest.mark.timeout(1800))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ROWS:
        terminalreporter.write_sep("=", "chaos scenarios")
        terminalreporter.write_line(table(ROWS))


@pytest.fixture(scope="session")
def hubspot() -> Iterator[HubSpotEmulator]:
    """One HubSpot emulator for the run (the workers learn its URLs at start-up)."""
    with hubspot_emulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, hubspot: HubSpotEmulator) -> Iterator[Cluster]:
    """Own Redis and PostgreSQL, two workers and two APIs, for the whole run."""
    missing = [tool for tool in ("redis-server",) if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the chaos suite needs {', '.join(missing)} on PATH")
    workdir: Path = tmp_path_factory.mktemp("chaos")
    deployment = Cluster(workdir, extra=sink_settings(workdir, hubspot))
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.close()


@pytest.fixture
def deployment(cluster: Cluster) -> Iterator[Cluster]:
    """The shared deployment with both workers ready (a scenario that killed one has it started again)."""
    cluster.ensure_stores()
    cluster.ensure_workers()
    yield cluster


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as r:
        yield r
