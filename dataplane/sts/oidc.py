"""Verifying an OpenID Connect ID token (a JWS-signed JWT) against its provider's JWKS.

AWS fetches the signing keys from the issuer; the emulator has no network, so the keys are
stored on the provider entity (``OidcProvider.jwks``) and replicate like any IAM change.
Supported algorithms: RS256/384/512 and ES256/384. Checks, in AWS's order: the token parses,
the issuer names a provider of the role's account, the signature verifies with the key named
by ``kid``, the audience is one of the provider's client IDs, then ``exp``/``nbf``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from awswire.errors import AwsError
from replication.entities import OidcProvider

__all__ = ["IdToken", "expired", "invalid_token", "parse_token", "verify_token"]

# AWS accepts a small clock skew on ``nbf``/``iat`` (tokens minted "now" by a fast clock)
NOT_BEFORE_LEEWAY = 300
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
    "ES256": hashes.SHA256(),
    "ES384": hashes.SHA384(),
}
_CURVES: dict[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}


def invalid_token(message: str) -> AwsError:
    """``InvalidIdentityToken`` (400)."""
    return AwsError("InvalidIdentityToken", message, 400)


def expired(now: float, expires: float) -> AwsError:
    """``ExpiredTokenException`` (400), worded as AWS does."""
    return AwsError(
        "ExpiredTokenException",
        f"Token expired: current date/time {int(now)} must be before the expiration "
        f"date/time{int(expires)}",
        400,
    )


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass(frozen=True, slots=True)
class IdToken:
    """A parsed (not yet verified) JWT: header, claims, and the signed bytes."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    signed: bytes
    signature: bytes

    @property
    def issuer_host(self) -> str:
        """The issuer without its scheme or trailing slash: the provider's name."""
        return str(self.claims.get("iss", "")).removeprefix("https://").rstrip("/")

    @property
    def audiences(self) -> tuple[str, ...]:
        """``aud`` as a tuple (it may be a string or a list)."""
        aud = self.claims.get("aud")
        return (aud,) if isinstance(aud, str) else tuple(str(a) for a in aud or ())


def parse_token(token: str) -> IdToken:
    """The JWT's parts; InvalidIdentityToken unless it is a well-formed JWS compact token."""
    parts = token.split(".")
    if len(parts) != 3:
        raise invalid_token("The ID Token provided is not a valid JWT.")
    try:
        header, claims = json.loads(_b64(parts[0])), json.loads(_b64(parts[1]))
        signature = _b64(parts[2])
    except (binascii.Error, ValueError):
        raise invalid_token("The ID Token provided is not a valid JWT.") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise invalid_token("The ID Token provided is not a valid JWT.")
    return IdToken(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def _key_for(token: IdToken, provider: OidcProvider) -> Mapping[str, Any]:
    """The JWK the token's ``kid`` names (or the only key when the token names none)."""
    unavailable = invalid_token(
        "Couldn't retrieve verification key from your identity provider, please reference "
        "AssumeRoleWithWebIdentity documentation for requirements"
    )
    try:
        keys = json.loads(provider.jwks or "{}").get("keys", [])
    except (ValueError, AttributeError):
        raise unavailable from None
    kid = token.header.get("kid")
    matching = [k for k in keys if isinstance(k, dict) and (kid is None or k.get("kid") == kid)]
    if len(matching) != 1:
        raise unavailable
    return dict(matching[0])


def _int(jwk: Mapping[str, Any], name: str) -> int:
    return int.from_bytes(_b64(str(jwk[name])), "big")


def _verify_signature(token: IdToken, jwk: Mapping[str, Any]) -> None:
    """Check the JWS signature with the JWK; InvalidIdentityToken when it does not verify."""
    alg = str(token.header.get("alg", ""))
    algorithm = _HASHES.get(alg)
    bad = invalid_token("The signature of the ID Token is invalid.")
    if algorithm is None:
        raise invalid_token(f"Unsupported token signing algorithm: {alg}")
    try:
        if alg.startswith("RS") and jwk.get("kty") == "RSA":
            rsa_key = rsa.RSAPublicNumbers(_int(jwk, "e"), _int(jwk, "n")).public_key()
            rsa_key.verify(token.signature, token.signed, padding.PKCS1v15(), algorithm)
            return
        if alg.startswith("ES") and jwk.get("kty") == "EC" and jwk.get("crv") in _CURVES:
            curve = _CURVES[str(jwk["crv"])]
            numbers = ec.EllipticCurvePublicNumbers(_int(jwk, "x"), _int(jwk, "y"), curve)
            half = len(token.signature) // 2
            r = int.from_bytes(token.signature[:half], "big")
            s = int.from_bytes(token.signature[half:], "big")
            der = encode_dss_signature(r, s)
            numbers.public_key().verify(der, token.signed, ec.ECDSA(algorithm))
            return
    except (InvalidSignature, KeyError, ValueError, binascii.Error):
        raise bad from None
    raise bad


def verify_token(token: IdToken, provider: OidcProvider, now: float) -> str:
    """Verify signature, audience and lifetime; return the audience that matched."""
    _verify_signature(token, _key_for(token, provider))
    audience = next((a for a in token.audiences if a in provider.client_ids), None)
    if audience is None:
        raise invalid_token("Incorrect token audience")
    exp, nbf = token.claims.get("exp"), token.claims.get("nbf")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise invalid_token("The ID Token provided has no valid expiration time (exp).")
    if now >= exp:
        raise expired(now, exp)
    if isinstance(nbf, int | float) and now + NOT_BEFORE_LEEWAY < nbf:
        raise invalid_token("The ID Token provided is not yet valid (nbf).")
    if not isinstance(token.claims.get("sub"), str) or not token.claims["sub"]:
        raise AwsError("IDPRejectedClaim", "The ID Token provided has no subject (sub).", 403)
    return audience
