"""Test identity providers: generated RSA/EC keys, their JWKS, and JWTs signed with them."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE writes it."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _uint(value: int, size: int | None = None) -> str:
    length = size or (value.bit_length() + 7) // 8
    return b64url(value.to_bytes(length, "big"))


@dataclass(frozen=True)
class SigningKey:
    """A private key, its ``kid`` and JWS algorithm (RS256 or ES256)."""

    kid: str
    alg: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls, kid: str, alg: str = "RS256") -> SigningKey:
        """A fresh RSA-2048 (RS256) or P-256 (ES256) key."""
        if alg == "RS256":
            return cls(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return cls(kid, alg, ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, str]:
        """The public key as a JWK."""
        if isinstance(self.private, rsa.RSAPrivateKey):
            numbers = self.private.public_key().public_numbers()
            return {"kty": "RSA", "kid": self.kid, "alg": self.alg, "use": "sig",
                    "n": _uint(numbers.n), "e": _uint(numbers.e)}  # fmt: skip
        point = self.private.public_key().public_numbers()
        return {"kty": "EC", "kid": self.kid, "alg": self.alg, "crv": "P-256",
                "x": _uint(point.x, 32), "y": _uint(point.y, 32)}  # fmt: skip

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        """A compact JWS of ``claims`` (header ``kid`` overridable to test key lookup)."""
        header = {"alg": self.alg, "typ": "JWT", "kid": kid or self.kid}
        signed = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        if isinstance(self.private, rsa.RSAPrivateKey):
            signature = self.private.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = decode_dss_signature(
                self.private.sign(signed.encode(), ec.ECDSA(hashes.SHA256()))
            )
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signed}.{b64url(signature)}"


def jwks(*keys: SigningKey) -> str:
    """The JWKS JSON publishing the keys."""
    return json.dumps({"keys": [key.jwk() for key in keys]})


def jwks_tags(document: str) -> list[dict[str, str]]:
    """The ``iam-planes:jwks:N`` tags carrying a JWKS (base64url, 256-character chunks)."""
    encoded = b64url(document.encode())
    chunks = [encoded[i : i + 256] for i in range(0, len(encoded), 256)]
    return [{"Key": f"iam-planes:jwks:{n}", "Value": chunk} for n, chunk in enumerate(chunks)]
