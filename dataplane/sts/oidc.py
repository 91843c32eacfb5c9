"""Verifying an OpenID Connect ID token (a JWS-signed JWT) against its provider's JWKS.

AWS fetches the signing keys from the issuer; the emulator has no network, so the keys are
stored on the provider entity (``OidcProvider.jwks``) and replicate like any IAM change.
Supported algorithms: RS256/384/512 and ES256/384. Checks, in AWS's order: the token parses,
the issuer names a provider of the role's account, the signature verifies with the key named
by ``kid``, the audience is one of the provider's client IDs, then ``exp``/``nbf``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from awswire.errors import AwsError
from replication.entities import OidcProvider

if TYPE_CHECKING:
    from jwt.types import Options

__all__ = ["IdToken", "expired", "invalid_token", "parse_token", "verify_token"]

# AWS accepts a small clock skew on ``nbf``/``iat`` (tokens minted "now" by a fast clock)
NOT_BEFORE_LEEWAY = 300
# the JWS algorithms AWS accepts from identity providers; never "none" or an HMAC, whose
# "key" would be the provider's public JWK (the algorithm-confusion attack)
SUPPORTED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384")
# PyJWT checks the signature only: AWS's own order and messages for the claims follow it.
# It is imported where it is used: a replica that never sees an ID token (most of them) does
# not pay for importing it, and cryptography's X.509 with it, at every start.
_SIGNATURE_ONLY: Options = {
    "verify_signature": True,
    "verify_aud": False,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_iss": False,
}


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


@dataclass(frozen=True, slots=True)
class IdToken:
    """A parsed (not yet verified) JWT: its header and claims, and the compact form."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    compact: str

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
    import jwt

    not_a_jwt = invalid_token("The ID Token provided is not a valid JWT.")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise not_a_jwt from None
    if not isinstance(claims, dict):
        raise not_a_jwt
    return IdToken(header, claims, token)


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


def _verify_signature(token: IdToken, jwk: Mapping[str, Any]) -> None:
    """Check the JWS signature with the JWK; InvalidIdentityToken when it does not verify."""
    alg = str(token.header.get("alg", ""))
    if alg not in SUPPORTED_ALGORITHMS:
        raise invalid_token(f"Unsupported token signing algorithm: {alg}")
    import jwt

    bad = invalid_token("The signature of the ID Token is invalid.")
    try:
        key = jwt.PyJWK({**jwk, "alg": alg})
        jwt.decode(token.compact, key, algorithms=[alg], options=_SIGNATURE_ONLY)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise bad from None


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
