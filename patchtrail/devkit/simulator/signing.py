"""Sign CloudTrail Lake result files (SHA256withRSA) with a throwaway key derived from the seed.

The key is built from primes drawn from a seeded RNG, so a simulation is byte-identical for a
seed, signature included (PKCS#1 v1.5 is deterministic). It protects nothing: it only lets a
reader exercise the `result_sign.json` verification path."""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

KEY_BITS = 2048
_SMALL_PRIMES = math.prod(p for p in range(3, 5000) if all(p % d for d in range(2, int(p**0.5) + 1)))


@dataclass(frozen=True)
class Signer:
    """Signs a data string; `public_key_der` is the DER PKCS#1 public key (as ListPublicKeys)."""

    private_key: object | None
    public_key_der: bytes
    fingerprint: str

    def sign(self, data: str) -> str:
        """Hex SHA256withRSA (PKCS#1 v1.5) signature of `data`, "" without `cryptography`."""
        if self.private_key is None:
            return ""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        signature = self.private_key.sign(  # type: ignore[attr-defined]
            data.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signature.hex()


def signer_for(seed_material: str) -> Signer:
    """A signer whose RSA key is derived from `seed_material`; a no-op one without `cryptography`."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:  # pragma: no cover - cryptography is a boto3/moto dependency here
        return Signer(None, b"", "")
    rng = random.Random(f"{seed_material}:rsa")
    e = 65537
    while True:
        p, q = _prime(rng, KEY_BITS // 2), _prime(rng, KEY_BITS // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e and (p * q).bit_length() == KEY_BITS:
            break
    d = pow(e, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p=p, q=q, d=d, dmp1=d % (p - 1), dmq1=d % (q - 1), iqmp=pow(q, -1, p),
        public_numbers=rsa.RSAPublicNumbers(e, p * q))
    key = numbers.private_key()
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.PKCS1)
    return Signer(key, der, hashlib.md5(der, usedforsecurity=False).hexdigest())


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if math.gcd(candidate, _SMALL_PRIMES) == 1 and _probably_prime(candidate, rng):
            return candidate


def _probably_prime(n: int, rng: random.Random, rounds: int = 24) -> bool:
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True
