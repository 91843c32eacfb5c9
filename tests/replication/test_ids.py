"""Unique IDs and secret keys: AWS's shapes, and every character drawn from the whole alphabet."""

from __future__ import annotations

import string

from replication.ids import IdPrefix, new_secret_access_key, new_unique_id

BASE32 = frozenset(string.ascii_uppercase + "234567")
BASE64 = frozenset(string.ascii_letters + string.digits + "+/")


def _characters_by_position(values: list[str]) -> list[set[str]]:
    return [{value[i] for value in values} for i in range(len(values[0]))]


def test_unique_ids_are_the_prefix_and_17_base32_characters() -> None:
    ids = [new_unique_id(IdPrefix.USER) for _ in range(3000)]
    assert all(len(unique) == 21 and unique.startswith("AIDA") for unique in ids)
    assert len(set(ids)) == len(ids)
    # every position takes every one of the 32 characters (a position fed by fewer random
    # bits, say the token's padding, would miss some): 3000 draws miss one by chance ~1e-25
    assert _characters_by_position([unique[4:] for unique in ids]) == [BASE32] * 17


def test_secret_access_keys_are_40_base64_characters() -> None:
    secrets = [new_secret_access_key() for _ in range(3000)]
    assert all(len(secret) == 40 for secret in secrets)
    assert len(set(secrets)) == len(secrets)
    assert _characters_by_position(secrets) == [BASE64] * 40
