"""Keys the identity tables use, each derived from the master key for one purpose (HKDF).

Staff emails are personal data but belong to no customer, so they are sealed under a key of
their own rather than a per-customer data key; look-ups go through a blind index.
"""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID

from persistence.crypto import FieldCipher, MasterKey


class IdentityKeys:
    """Blind indexes and field encryption for the identity tables."""

    def __init__(self, master: MasterKey) -> None:
        self._index = master.derive("identity/blind-index")
        self._cipher = FieldCipher(master.derive("identity/staff-fields"))

    def blind_index(self, purpose: str, value: str) -> str:
        """A keyed hash of `value` (hex): equal inputs match, the input cannot be recovered."""
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(self._index, message, hashlib.sha256).hexdigest()

    def seal(self, plaintext: str, *, table: str, column: str, row_id: UUID) -> bytes:
        """AES-256-GCM ciphertext bound to its table, column and row (see FieldCipher)."""
        return self._cipher.seal(plaintext, table=table, column=column, row_id=row_id)

    def open(self, sealed: bytes, *, table: str, column: str, row_id: UUID) -> str:
        """The plaintext of `seal`; raises IntegrityError if it does not authenticate."""
        return self._cipher.open_text(sealed, table=table, column=column, row_id=row_id)
