"""Small parts of federation: purpose-bound sealing and the JWKS carried in provider tags."""

from __future__ import annotations

import json

import pytest

from awswire.errors import AwsError
from controlplane.iam.resources.oidc_providers import split_jwks_tags
from dataplane.identity.tokens import TokenError, TokenKeys, new_token_key
from replication.entities import Tag
from tests.dataplane.sts.jwt_signing import SigningKey, jwks, jwks_tags


def test_sealed_bytes_open_only_for_their_purpose() -> None:
    """What is sealed for one purpose opens for it, and for no other purpose or key."""
    keys = TokenKeys.parse(f"k1:{new_token_key()}")
    sealed = keys.encrypt(b"imds", b"payload")
    assert keys.decrypt(b"imds", sealed) == b"payload"
    with pytest.raises(TokenError):
        keys.decrypt(b"authorization", sealed)
    with pytest.raises(TokenError):
        TokenKeys.parse(f"k1:{new_token_key()}").decrypt(b"imds", sealed)


def test_jwks_tags_are_joined_and_removed() -> None:
    """Chunked ``iam-planes:jwks:N`` tags become the stored JWKS; other tags stay tags."""
    document = jwks(SigningKey.generate("a"), SigningKey.generate("b", "ES256"))
    tags = tuple(Tag(key=t["Key"], value=t["Value"]) for t in jwks_tags(document))
    assert len(tags) > 1
    stored, rest = split_jwks_tags((*reversed(tags), Tag(key="team", value="id")))
    assert stored is not None and json.loads(stored) == json.loads(document)
    assert rest == (Tag(key="team", value="id"),)
    assert split_jwks_tags(rest) == (None, rest)


def test_gapped_or_garbled_jwks_tags_are_refused() -> None:
    """A missing chunk or text that is not base64url JSON is InvalidInput."""
    for tags in ((Tag(key="iam-planes:jwks:1", value="e30"),),
                 (Tag(key="iam-planes:jwks:0", value="bm90IGpzb24"),)):  # fmt: skip
        with pytest.raises(AwsError) as refused:
            split_jwks_tags(tags)
        assert refused.value.code == "InvalidInput"
