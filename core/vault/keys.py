"""The vault's key ring: ``ECHODEPTH_VAULT_KEYS`` (``kid:base64key,...``, newest first) or, without it, a
key generated once into the data directory (mode 0600) so the embedded default needs no configuration."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from core.sdk.errors import ConfigError
from core.settings import Settings

__all__ = ["KeyRing", "load_key_ring", "KEY_FILE_NAME"]

log = logging.getLogger("echodepth.vault")
KEY_FILE_NAME = "vault.key"
_KEY_BYTES = 32  # AES-256


@dataclass(frozen=True)
class KeyRing:
    """Keys by id; ``current`` seals, every key opens."""

    keys: dict[str, bytes]
    current: str

    def __repr__(self) -> str:
        return f"KeyRing(ids={list(self.keys)}, current={self.current!r})"

    @classmethod
    def parse(cls, value: str) -> KeyRing:
        """``kid:base64key,kid:base64key`` (newest first) → a ring; ConfigError when malformed."""
        keys: dict[str, bytes] = {}
        for entry in filter(None, (e.strip() for e in value.split(","))):
            kid, sep, encoded = entry.partition(":")
            if not sep or not kid:
                raise ConfigError("ECHODEPTH_VAULT_KEYS entries must look like kid:base64key")
            keys[kid] = _decode_key(kid, encoded)
        if not keys:
            raise ConfigError("ECHODEPTH_VAULT_KEYS holds no key")
        return cls(keys, next(iter(keys)))


def _decode_key(kid: str, encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ConfigError(f"vault key {kid!r} is not base64") from exc
    if len(key) != _KEY_BYTES:
        raise ConfigError(f"vault key {kid!r} must be {_KEY_BYTES} bytes, not {len(key)}")
    return key


def _new_key_line() -> str:
    kid = "local-" + secrets.token_hex(4)
    return f"{kid}:{base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode()}"


def _key_file(path: Path) -> str:
    """The key file's ring, creating it (0600, exclusive) on first run."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    line = _new_key_line()
    with os.fdopen(fd, "w") as fh:
        fh.write(line + "\n")
    log.warning(
        "generated a vault key in %s; set ECHODEPTH_VAULT_KEYS in production (every process must share it)",
        path,
    )
    return line


def load_key_ring(settings: Settings) -> KeyRing:
    """The ring from settings, or the data directory's generated key."""
    if settings.vault_keys is not None:
        return KeyRing.parse(settings.vault_keys.get_secret_value())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return KeyRing.parse(_key_file(settings.data_dir / KEY_FILE_NAME))
