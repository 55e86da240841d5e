"""scripts/settings_table.py: docs/settings.md is current; any settings model is tabled from its fields."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("settings_table", ROOT / "scripts" / "settings_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


table = _script()


class VendorSettings(BaseSettings):
    """A connector's own settings, as a connector's ``settings_model`` would declare them."""

    model_config = SettingsConfigDict(env_prefix="ECHODEPTH_ACME_", use_attribute_docstrings=True)

    client_id: str | None = None
    """The Acme app's client id."""
    page_size: int = Field(default=50, validation_alias=AliasChoices("ECHODEPTH_ACME_BATCH", "batch"))
    """Records per call | at most 50."""
    dry_run: bool = False
    """Write nothing."""


def test_docs_settings_md_is_current() -> None:
    doc = table.DOC.read_text()
    assert table.render(doc, table.settings_models()) == doc, "run scripts/settings_table.py (make docs)"


def test_core_settings_come_first_with_their_defaults_from_config() -> None:
    rows = table.table(table.settings_models()[0])
    assert rows[2].startswith("| `ECHODEPTH_DATA_DIR` | `./var` | SQLite database")
    assert "| `ECHODEPTH_PROVIDERS_DIR` | none | " in "\n".join(rows)
    assert "| `ECHODEPTH_TRUSTED_PROXIES` | empty | " in "\n".join(rows)


def test_a_connector_settings_model_is_tabled_under_its_own_variables() -> None:
    text = table.render(f"# S\n\n{table.START}\n{table.END}\n", [VendorSettings])
    assert "### `VendorSettings`" in text
    assert "| `ECHODEPTH_ACME_CLIENT_ID` | none | The Acme app's client id. |" in text
    assert "| `ECHODEPTH_ACME_BATCH` | `50` | Records per call \\| at most 50. |" in text
    assert "| `ECHODEPTH_ACME_DRY_RUN` | `false` | Write nothing. |" in text


def test_the_prose_around_the_markers_is_kept() -> None:
    text = table.render(f"intro\n{table.START}\nold\n{table.END}\noutro\n", [VendorSettings])
    assert text.startswith(f"intro\n{table.START}\n") and text.endswith(f"{table.END}\noutro\n")
    assert "old" not in text


def test_a_setting_without_a_description_stops_the_script() -> None:
    class Undocumented(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="ECHODEPTH_X_")
        secret_thing: str = ""

    with pytest.raises(SystemExit, match="secret_thing has no description"):
        table.table(Undocumented)
