"""The vault's one table: every secret as AES-256-GCM ciphertext, with the id of the key that sealed it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.storage.models import Base, utcnow

__all__ = ["VaultSecret"]


class VaultSecret(Base):
    """One sealed secret: ``nonce`` and ``ciphertext`` (with its GCM tag) under key ``key_id``."""

    __tablename__ = "vault_secrets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(64), index=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
