"""Self-contained session tokens: the claims of a session, sealed with AES-GCM.

A token is ``base64url(version | len(kid) | kid | nonce | AES-GCM(zlib(claims json)))``; the
version and key id are authenticated as associated data, so a token cannot be moved to
another key. Any replica of any region holding the same keys opens any token: sessions need
no replication. The temporary secret key is derived (HMAC of the access key id and token id
under a key derived from the master key), never stored or carried.

Keys come from ``IAM_PLANES_TOKEN_KEYS`` (``kid:base64key,kid2:...``): the first seals, all
open, so a key can be rotated in before the old one is retired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "TOKEN_KEYS_ENV",
    "SessionClaims",
    "SessionKind",
    "TokenError",
    "TokenKeys",
    "new_token_key",
]

TOKEN_KEYS_ENV = "IAM_PLANES_TOKEN_KEYS"
_FORMAT_VERSION = 1
_NONCE_BYTES = 12
_KEY_BYTES = 32
_ENCRYPTION_LABEL = b"iam-planes sts token encryption v1"
_SECRET_LABEL = b"iam-planes sts secret derivation v1"

SessionKind = Literal[
    "AssumeRole",
    "GetSessionToken",
    "GetFederationToken",
    "AssumeRoleWithWebIdentity",
    "SAML",
    "InstanceProfile",
]


class TokenError(ValueError):
    """The token cannot be opened: malformed, tampered with, or sealed by an unknown key."""


class SessionClaims(BaseModel):
    """Everything a session is, as sealed in its token (times are epoch seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token_id: str
    kind: SessionKind
    access_key_id: str
    account: str
    issued_at: float
    expires_at: float
    # AssumeRole*: the role and session; GetSessionToken/GetFederationToken: the IAM user
    role_arn: str | None = None
    role_id: str | None = None
    session_name: str | None = None
    user_arn: str | None = None
    user_id: str | None = None
    federated_name: str | None = None
    policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    tags: dict[str, str] = Field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    mfa: bool = False
    mfa_authenticated_at: float | None = None
    # the ARNs of the principals that issued this session, oldest first (role chaining)
    issuer_chain: tuple[str, ...] = ()
    # web identity / SAML sessions: the provider (aws:FederatedProvider)
    federated_provider: str | None = None
    # instance profile sessions (IMDS): ec2:SourceInstanceARN and ec2:RoleDelivery
    source_instance_arn: str | None = None
    role_delivery: str | None = None

    @property
    def has_session_policy(self) -> bool:
        """Whether a session policy (inline or managed) was passed."""
        return self.policy is not None or bool(self.policy_arns)


def _derive(master: bytes, label: bytes) -> bytes:
    return hmac.new(master, label, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class _Key:
    kid: str
    encryption: bytes
    secrets: bytes


def new_token_key() -> str:
    """A fresh random master key in the base64 form ``IAM_PLANES_TOKEN_KEYS`` carries."""
    return base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded)


class TokenKeys:
    """The master keys shared by every replica; the first is the active (sealing) one."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise ValueError("at least one token key is required")
        self._keys = {
            kid: _Key(kid, _derive(key, _ENCRYPTION_LABEL), _derive(key, _SECRET_LABEL))
            for kid, key in keys.items()
        }
        self._active = self._keys[next(iter(keys))]

    @classmethod
    def parse(cls, text: str) -> TokenKeys:
        """Read ``kid:base64key,kid2:base64key`` (the first one seals)."""
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            kid, _, encoded = item.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise ValueError(f"token key {kid!r} is not base64") from None
            if not kid or len(kid) > 32 or len(key) < 16:
                raise ValueError(f"token key {kid!r} needs an id and at least 16 bytes")
            keys[kid] = key
        return cls(keys)

    @property
    def active_kid(self) -> str:
        """The id of the key new tokens are sealed with."""
        return self._active.kid

    def seal(self, claims: SessionClaims) -> str:
        """The token that carries ``claims``, sealed with the active key."""
        key = self._active
        kid = key.kid.encode("ascii")
        header = bytes([_FORMAT_VERSION, len(kid)]) + kid
        nonce = secrets.token_bytes(_NONCE_BYTES)
        plain = zlib.compress(claims.model_dump_json(exclude_defaults=True).encode(), 9)
        sealed = AESGCM(key.encryption).encrypt(nonce, plain, header)
        return base64.urlsafe_b64encode(header + nonce + sealed).decode("ascii").rstrip("=")

    def open(self, token: str) -> SessionClaims:
        """The claims of ``token``; TokenError if it is malformed, forged or its key is gone."""
        try:
            raw = _b64decode(token)
        except (binascii.Error, ValueError):
            raise TokenError("not base64url") from None
        if len(raw) < 2 or raw[0] != _FORMAT_VERSION:
            raise TokenError("unknown token format")
        end = 2 + raw[1]
        key = self._keys.get(raw[2:end].decode("ascii", "replace"))
        if key is None:
            raise TokenError("unknown token key")
        nonce, sealed = raw[end : end + _NONCE_BYTES], raw[end + _NONCE_BYTES :]
        try:
            plain = AESGCM(key.encryption).decrypt(nonce, sealed, raw[:end])
            return SessionClaims.model_validate_json(zlib.decompress(plain))
        except (InvalidTag, ValueError, zlib.error, ValidationError):
            raise TokenError("token failed authentication") from None

    def secret_for(self, claims: SessionClaims) -> str:
        """The session's secret access key, derived from its key id and token id."""
        message = f"{claims.access_key_id}:{claims.token_id}".encode()
        # derived with the key that sealed the token (its id starts the token id)
        key = self._keys.get(claims.token_id.split(".", 1)[0])
        if key is None:
            raise TokenError("unknown token key")
        digest = hmac.new(key.secrets, message, hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")[:40]

    def encrypt(self, purpose: bytes, plain: bytes) -> str:
        """``plain`` sealed with the active key for ``purpose`` (bound as associated data)."""
        key = self._active
        kid = key.kid.encode("ascii")
        header = bytes([_FORMAT_VERSION, len(kid)]) + kid
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(key.encryption).encrypt(nonce, plain, header + purpose)
        return base64.urlsafe_b64encode(header + nonce + sealed).decode("ascii").rstrip("=")

    def decrypt(self, purpose: bytes, text: str) -> bytes:
        """What :meth:`encrypt` sealed for ``purpose``; TokenError if forged, foreign or garbled."""
        try:
            raw = _b64decode(text)
        except (binascii.Error, ValueError):
            raise TokenError("not base64url") from None
        if len(raw) < 2 or raw[0] != _FORMAT_VERSION:
            raise TokenError("unknown format")
        end = 2 + raw[1]
        key = self._keys.get(raw[2:end].decode("ascii", "replace"))
        if key is None:
            raise TokenError("unknown key")
        nonce, sealed = raw[end : end + _NONCE_BYTES], raw[end + _NONCE_BYTES :]
        try:
            return AESGCM(key.encryption).decrypt(nonce, sealed, raw[:end] + purpose)
        except (InvalidTag, ValueError):
            raise TokenError("failed authentication") from None

    def new_token_id(self) -> str:
        """A fresh token id, prefixed with the active key id so its secret survives rotation."""
        return f"{self._active.kid}.{secrets.token_hex(12)}"
