"""Seal, open, replace and rotate secrets (AES-256-GCM, a random 12-byte nonce each time).

The row id is the associated data, so a ciphertext copied onto another row does not open.
"""

from __future__ import annotations

import logging
import secrets
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.sdk.errors import ConfigError
from core.storage.db import Database
from core.storage.models import utcnow
from core.storage.queries import changed
from core.storage.residency import require_region
from core.vault.keys import KeyRing
from core.vault.models import VaultSecret

__all__ = ["TokenVault", "VaultError"]

log = logging.getLogger("echodepth.vault")
_NONCE_BYTES = 12


class VaultError(ConfigError):
    """A secret cannot be opened: its key is not in the ring, or the ciphertext was tampered with."""


class TokenVault:
    """Every secret the hub keeps, encrypted at rest."""

    def __init__(self, db: Database, ring: KeyRing) -> None:
        self.db = db
        self.ring = ring

    def _seal(self, secret_id: str, plaintext: str) -> tuple[str, bytes, bytes]:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        key = self.ring.keys[self.ring.current]
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), secret_id.encode())
        return self.ring.current, nonce, sealed

    def _open(self, row: VaultSecret) -> str:
        key = self.ring.keys.get(row.key_id)
        if key is None:
            raise VaultError(f"vault key {row.key_id!r} is not in ECHODEPTH_VAULT_KEYS")
        try:
            return AESGCM(key).decrypt(row.nonce, row.ciphertext, row.id.encode()).decode()
        except InvalidTag as exc:
            raise VaultError(f"secret {row.id} does not open with key {row.key_id!r}") from exc

    def new_secret(self, tenant_id: str, kind: str, plaintext: str) -> VaultSecret:
        """A sealed row for ``plaintext``; the caller adds it to its own transaction."""
        secret_id = str(uuid.uuid4())
        key_id, nonce, sealed = self._seal(secret_id, plaintext)
        return VaultSecret(
            id=secret_id, tenant_id=tenant_id, kind=kind, key_id=key_id, nonce=nonce, ciphertext=sealed
        )

    def put(self, tenant_id: str, kind: str, plaintext: str) -> str:
        """Seal and store ``plaintext``; returns the secret's id."""
        row = self.new_secret(tenant_id, kind, plaintext)
        with self.db.session() as s:
            require_region(s, self.db, tenant_id)  # a tenant's tokens live in its region only
            s.add(row)
            s.commit()
        return row.id

    def read(self, s: Session, secret_id: str) -> str:
        """The plaintext of secret ``secret_id`` within session ``s``."""
        row = s.get(VaultSecret, secret_id)
        if row is None:
            raise VaultError(f"secret {secret_id} does not exist")
        return self._open(row)

    def get(self, secret_id: str) -> str:
        """The plaintext of secret ``secret_id``."""
        with self.db.session() as s:
            return self.read(s, secret_id)

    def replace(self, s: Session, secret_id: str, plaintext: str) -> None:
        """Re-seal secret ``secret_id`` with a new value within session ``s`` (e.g. a rotated token)."""
        key_id, nonce, sealed = self._seal(secret_id, plaintext)
        s.execute(
            update(VaultSecret)
            .where(VaultSecret.id == secret_id)
            .values(key_id=key_id, nonce=nonce, ciphertext=sealed, updated_at=utcnow())
        )

    def rotate(self, batch: int = 500) -> int:
        """Re-encrypt every secret not sealed under the newest key; returns how many were re-sealed."""
        total = 0
        while True:
            with self.db.session() as s:
                rows = list(
                    s.scalars(select(VaultSecret).where(VaultSecret.key_id != self.ring.current).limit(batch))
                )
                done = sum(self._reseal(s, row) for row in rows)
                s.commit()
            total += done
            if len(rows) < batch:
                log.info("vault rotation: %d secrets re-sealed under key %s", total, self.ring.current)
                return total

    def _reseal(self, s: Session, row: VaultSecret) -> int:
        """Re-seal one row if nobody else did meanwhile (conditional on its old key id)."""
        plaintext = self._open(row)
        key_id, nonce, sealed = self._seal(row.id, plaintext)
        return changed(
            s,
            update(VaultSecret)
            .where(VaultSecret.id == row.id, VaultSecret.key_id == row.key_id)
            .values(key_id=key_id, nonce=nonce, ciphertext=sealed, updated_at=utcnow()),
        )
