"""The token vault: every secret the hub keeps, AES-256-GCM encrypted at rest under a rotating key ring."""

from core.vault.keys import KeyRing, load_key_ring
from core.vault.models import VaultSecret
from core.vault.vault import TokenVault, VaultError

__all__ = ["KeyRing", "TokenVault", "VaultError", "VaultSecret", "load_key_ring"]
