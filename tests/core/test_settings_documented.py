"""Every setting is documented in the README and has its default in config/defaults.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [n for n in Settings.model_fields if f"ECHODEPTH_{n.upper()}" not in readme]
    assert missing == [], f"add these to the README settings table: {missing}"


def test_every_setting_has_a_default_in_config() -> None:
    defaults = yaml.safe_load((ROOT / "config" / "defaults.yaml").read_text())
    secrets = {n for n, f in Settings.model_fields.items() if "Secret" in str(f.annotation)}
    missing = [n for n in Settings.model_fields if n not in defaults and n not in secrets]
    assert missing == [], f"add these to config/defaults.yaml: {missing}"
    unknown = [n for n in defaults if n not in Settings.model_fields]
    assert unknown == []
