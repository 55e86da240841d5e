"""Every setting is described, tabled in docs/settings.md and has its default in config/defaults.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_has_a_description() -> None:
    missing = [n for n, f in Settings.model_fields.items() if not (f.description or "").strip()]
    assert missing == [], f"give these fields a docstring in core/settings.py: {missing}"


def test_every_setting_is_in_the_generated_settings_table() -> None:
    table = (ROOT / "docs" / "settings.md").read_text()
    missing = [n for n in Settings.model_fields if f"| `ECHODEPTH_{n.upper()}` |" not in table]
    assert missing == [], f"run scripts/settings_table.py (make docs): {missing} are not in docs/settings.md"


def test_every_setting_has_a_default_in_config() -> None:
    defaults = yaml.safe_load((ROOT / "config" / "defaults.yaml").read_text())
    secrets = {n for n, f in Settings.model_fields.items() if "Secret" in str(f.annotation)}
    missing = [n for n in Settings.model_fields if n not in defaults and n not in secrets]
    assert missing == [], f"add these to config/defaults.yaml: {missing}"
    unknown = [n for n in defaults if n not in Settings.model_fields]
    assert unknown == []
