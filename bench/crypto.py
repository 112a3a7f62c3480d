"""What field encryption costs: FieldCipher seal/open and the blind index, against a bare
AES-GCM call on the same data. Prints microseconds per operation and the ratios.

Run: .venv/bin/python bench/crypto.py
"""

from __future__ import annotations

import os
import timeit
from collections.abc import Callable
from uuid import uuid4

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from persistence.crypto import BlindIndexer, FieldCipher, MasterKey, associated_data, new_data_key

VALUE = "Quokkaburger Emporium, 12 High Street"  # a typical short field
ROW = uuid4()
LOOPS = 20_000
REPEATS = 5


def per_op_us(function: Callable[[], object]) -> float:
    """The best of several runs, in microseconds per call (the least disturbed by others)."""
    return min(timeit.repeat(function, number=LOOPS, repeat=REPEATS)) / LOOPS * 1e6


def main() -> None:
    key = new_data_key()
    bare = AESGCM(key)
    cipher = FieldCipher(key)
    index = BlindIndexer(MasterKey.generate())
    plaintext = VALUE.encode()
    ad = associated_data("transactions", "description", ROW)
    nonce = os.urandom(12)
    bare_sealed = bare.encrypt(nonce, plaintext, ad)
    sealed = cipher.seal(VALUE, table="transactions", column="description", row_id=ROW)

    def bare_encrypt() -> bytes:
        return bare.encrypt(os.urandom(12), plaintext, ad)

    def bare_decrypt() -> bytes:
        return bare.decrypt(nonce, bare_sealed, ad)

    def seal() -> bytes:
        return cipher.seal(VALUE, table="transactions", column="description", row_id=ROW)

    def open_() -> str | None:
        return cipher.open(sealed, table="transactions", column="description", row_id=ROW)

    def blind_index() -> bytes:
        return index.blind_index("canary.xylophone@example.org")

    def new_cipher() -> FieldCipher:
        return FieldCipher(key)  # once per customer and class per unit of work

    results = {
        name: per_op_us(function)
        for name, function in (
            ("bare AESGCM encrypt (+ nonce)", bare_encrypt),
            ("bare AESGCM decrypt", bare_decrypt),
            ("FieldCipher.seal", seal),
            ("FieldCipher.open", open_),
            ("BlindIndexer.blind_index", blind_index),
            ("FieldCipher(key) construction", new_cipher),
        )
    }
    print(f"field of {len(plaintext)} bytes, {LOOPS} calls x best of {REPEATS}")
    for name, micros in results.items():
        print(f"  {name:32s} {micros:8.2f} us/op")
    encrypt, decrypt = results["bare AESGCM encrypt (+ nonce)"], results["bare AESGCM decrypt"]
    print(f"  seal / bare encrypt       {results['FieldCipher.seal'] / encrypt:6.2f}x")
    print(f"  open / bare decrypt       {results['FieldCipher.open'] / decrypt:6.2f}x")
    print(f"  blind index / bare encrypt {results['BlindIndexer.blind_index'] / encrypt:5.2f}x")
    row = 4 * results["FieldCipher.open"]
    print(
        f"  a transaction row (4 sealed fields) opens in ~{row:.1f} us;"
        f" a page of 50 rows in ~{row * 50 / 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
