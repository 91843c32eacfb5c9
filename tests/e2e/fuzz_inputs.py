"""What the parser fuzz throws at the planes: random and mutated Query forms, JSON documents
and ``/authorize`` queries, kept small so that no single input is slow by design."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

__all__ = ["authorize_bodies", "json_bodies", "query_bodies"]

_QUERY_KEYS = [
    "Action", "Version", "UserName", "RoleName", "PolicyName", "PolicyDocument", "PolicyArn",
    "Path", "MaxItems", "Marker", "Tags.member.1.Key", "Tags.member.1.Value", "Tags.member.0.Key",
    "Tags.member.-1.Value", "ActionNames.member.1", "PolicyInputList.member.1",
    "ContextEntries.member.1.ContextKeyValues.member.1", "RoleArn", "RoleSessionName",
    "DurationSeconds", "X-Amz-Security-Token", "X-Amz-Credential", "X-Amz-Signature",
]  # fmt: skip
_ACTIONS = [
    "CreateUser", "PutUserPolicy", "CreatePolicy", "ListUsers", "TagUser", "SimulateCustomPolicy",
    "AddRoleToInstanceProfile", "AssumeRole", "GetCallerIdentity", "GetSessionToken", "Nope",
]  # fmt: skip
_VALID_QUERIES = [
    b"Action=CreateUser&Version=2010-05-08&UserName=fuzz&Tags.member.1.Key=k&Tags.member.1.Value=v",
    b"Action=PutUserPolicy&Version=2010-05-08&UserName=fuzz&PolicyName=p&PolicyDocument="
    b"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
    b"Action=ListUsers&Version=2010-05-08&MaxItems=10&PathPrefix=%2F",
    b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr"
    b"&RoleSessionName=s&DurationSeconds=900",
    b"Action=GetCallerIdentity&Version=2011-06-15",
]
_JSON_KEYS = [
    "principal", "access_key_id", "session_token", "signed_request", "action", "resource",
    "context", "resource_policy", "resource_owner", "account_details", "method", "path",
    "query", "headers", "body_sha256", "service", "region", "Version", "Statement", "Effect",
    "Action", "Resource", "Principal", "Condition", "Name", "Content", "Type", "PolicyId",
]  # fmt: skip
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=24)
    | st.sampled_from(
        ["AKIAIOSFODNN7EXAMPLE", "s3:GetObject", "arn:aws:s3:::b/k", "*", "Allow", "2012-10-17"]
    )
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(_JSON_KEYS) | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=25,
)
_VALID_AUTHORIZE: dict[str, Any] = {
    "principal": {"access_key_id": "AKIAIOSFODNN7EXAMPLE"},
    "action": "s3:GetObject",
    "resource": "arn:aws:s3:::bucket/key",
    "context": {"aws:SourceIp": "10.0.0.1"},
    "resource_policy": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b*"}
        ],
    },
}


@st.composite
def _mutated_bytes(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few bytes deleted, replaced, inserted or duplicated."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["delete", "replace", "insert", "duplicate"]))
        junk = draw(st.binary(min_size=1, max_size=8))
        if operation == "delete":
            del data[at : at + len(junk)]
        elif operation == "replace":
            data[at : at + len(junk)] = junk
        elif operation == "insert":
            data[at:at] = junk
        else:
            data[at:at] = data[at : at + 16]
    return bytes(data)


@st.composite
def _random_form(draw: st.DrawFn) -> bytes:
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(_QUERY_KEYS) | st.text(max_size=12),
                st.sampled_from(_ACTIONS) | st.text(max_size=24),
            ),
            max_size=8,
        )
    )
    return urlencode(pairs).encode()


def query_bodies() -> st.SearchStrategy[bytes]:
    """Query-protocol bodies: random forms, mutated valid calls, and raw bytes."""
    mutated = st.sampled_from(_VALID_QUERIES).flatmap(_mutated_bytes)
    return _random_form() | mutated | st.binary(max_size=64)


@st.composite
def _mutated_value(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with one nested member dropped or replaced by random JSON."""
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        choice = draw(st.integers(0, 2))
        if choice == 0:
            return {k: v for k, v in value.items() if k != key}
        if choice == 1:
            return {**value, key: draw(_JSON)}
        return {**value, key: draw(_mutated_value(value[key]))}
    if isinstance(value, list) and value:
        index = draw(st.integers(0, len(value) - 1))
        return [*value[:index], draw(_mutated_value(value[index])), *value[index + 1 :]]
    return draw(_JSON)


def _dumped(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def json_bodies() -> st.SearchStrategy[bytes]:
    """JSON-protocol bodies: random JSON, byte-mutated JSON, and raw bytes."""
    return _JSON.map(_dumped) | _JSON.map(_dumped).flatmap(_mutated_bytes) | st.binary(max_size=64)


def authorize_bodies() -> st.SearchStrategy[bytes]:
    """``/authorize`` bodies: a valid query mutated (as JSON and as bytes), batches of them,
    random JSON and raw bytes."""
    mutated = _mutated_value(_VALID_AUTHORIZE)
    return (
        mutated.map(_dumped)
        | st.lists(mutated, max_size=3).map(_dumped)
        | st.just(_dumped(_VALID_AUTHORIZE)).flatmap(_mutated_bytes)
        | json_bodies()
    )
