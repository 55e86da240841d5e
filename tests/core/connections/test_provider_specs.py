"""Every provider file is validated against ProviderSpec when the service starts; a broken one stops it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from config import CONFIG_DIR
from core.connections.providers import ProviderCatalog
from core.runtime import Runtime
from core.sdk.errors import ConfigError
from core.settings import Settings

SHIPPED = CONFIG_DIR / "providers"


def _providers(tmp_path: Path) -> Path:
    target = tmp_path / "providers"
    shutil.copytree(SHIPPED, target)
    return target


def test_every_shipped_provider_file_is_valid() -> None:
    specs = {s.key: s for s in ProviderCatalog(Settings(providers_dir=SHIPPED)).validate_all()}
    assert {"zoom", "microsoft", "salesforce", "hubspot", "slack", "webhook"} <= set(specs)
    for key in ("zoom", "microsoft", "salesforce", "hubspot", "slack"):
        oauth = specs[key].oauth
        assert oauth is not None and oauth.account.id_field


def _break(path: Path, change: dict[str, object]) -> None:
    spec = yaml.safe_load(path.read_text())
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = spec
        for name in parents:
            node = node[name]
        node[last] = value
    path.write_text(yaml.safe_dump(spec))


@pytest.mark.parametrize(
    ("vendor", "change"),
    [
        ("slack", {"oauth.scopes": "chat:write"}),  # a string, not a list
        ("hubspot", {"oauth.client_auth": "digest"}),
        ("salesforce", {"oauth.params": {}}),  # {host} in the URLs with nothing to fill it
        ("microsoft", {"oauth.client_credentials.param": "region"}),
        ("zoom", {"oauth.account": None}),
        ("slack", {"oauth.unknown_quirk": True}),
        ("hubspot", {"key": "hubspot2"}),  # the file name and the key differ
        ("salesforce", {"oauth.params.host.default": "nowhere"}),
    ],
)
def test_a_broken_provider_file_fails_start_up(
    tmp_path: Path, vendor: str, change: dict[str, object]
) -> None:
    directory = _providers(tmp_path)
    _break(directory / f"{vendor}.yaml", change)
    with pytest.raises(ConfigError, match=vendor):
        Runtime(Settings(data_dir=tmp_path / "var", providers_dir=directory))


def test_a_provider_file_that_is_not_yaml_fails_start_up(tmp_path: Path) -> None:
    directory = _providers(tmp_path)
    (directory / "slack.yaml").write_text("key: slack\noauth: [unclosed\n")
    with pytest.raises(ConfigError, match="slack.yaml"):
        Runtime(Settings(data_dir=tmp_path / "var", providers_dir=directory))
