"""``echodepth users create``: the first admin of a tenant, with a generated password shown once."""

from __future__ import annotations

import subprocess
from pathlib import Path

from core.api.scopes import SCOPES
from core.oauth.store import OAuthStore
from core.runtime import Runtime
from core.settings import Settings
from tests.conftest import ECHODEPTH_BIN, settings_env


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ECHODEPTH_BIN, "users", "create", *args], env=settings_env(settings), capture_output=True, text=True
    )


def test_creates_an_admin_who_can_sign_in_and_resets_only_when_asked(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    made = _run(settings, "--tenant", "local", "--email", "Admin@Localhost", "--admin")
    assert made.returncode == 0, made.stderr
    password = made.stdout.strip()
    again = _run(settings, "--tenant", "local", "--email", "admin@localhost", "--admin")
    assert again.returncode != 0 and "--reset" in again.stderr
    reset = _run(settings, "--tenant", "local", "--email", "admin@localhost", "--reset")
    assert reset.returncode == 0, reset.stderr
    rt = Runtime(settings)
    try:
        store = OAuthStore(rt.db)
        assert store.check_password("admin@localhost", password) is None  # the old one no longer works
        user = store.check_password("admin@localhost", reset.stdout.strip())
        assert user is not None and user.scopes == list(SCOPES)
        actions = [e.action for e in rt.audit.page(user.tenant_id, None, 10, None).entries]
        assert "user.create" in actions and "user.password_reset" in actions
    finally:
        rt.close()
