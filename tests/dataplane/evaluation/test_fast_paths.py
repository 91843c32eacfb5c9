"""The per-request fast paths give exactly what the general paths give.

Request construction memoises the resolved owner by identity of the (immutable) principal and
given owner, lower-cases context keys through a cache, and copies a :class:`NormalisedContext`
instead of normalising again; the scan reads a flattened candidate table. None of it may
change a Request or a decision: each is checked against the straightforward computation.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import FrozenInstanceError
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.engine import build_cases
from bench.workload import build_workload
from dataplane.evaluation import (
    NormalisedContext,
    Org,
    Principal,
    Request,
    ResourceKind,
    ResourceOwner,
    evaluate,
)
from dataplane.evaluation._context import ContextValue, context_text, normalise_context
from dataplane.evaluation._document import _policies, _request
from dataplane.evaluation._request import _rcp_subject, _resource_keys, resolve_owner
from dataplane.evaluation._sets import RCP
from tests.dataplane.evaluation.corpus_loader import load_cases

ACCOUNT = "111122223333"
ENVIRONMENT = {
    "aws:CurrentTime": "2026-11-28T16:00:00Z",
    "aws:EpochTime": "1795881600",
    "aws:SourceIp": "10.1.2.3",
    "aws:SecureTransport": "false",
    "aws:RequestedRegion": "us-east-1",
}


def _reference_context(raw: Mapping[str, Any]) -> dict[str, ContextValue]:
    """normalise_context as first written: no caches, no fast path."""
    result: dict[str, ContextValue] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            result[key.lower()] = tuple(context_text(item) for item in value)
        else:
            result[key.lower()] = context_text(value)
    return result


def _reference_fields(request: Request) -> tuple[Any, ...]:
    """What Request derives, computed the general way (resolve_owner, _resource_keys)."""
    principal = request.principal
    owner = resolve_owner(request.resource_owner, principal, request.resource, request.action_key)
    ctx = _reference_context(dict(request.context))
    _resource_keys(owner, ctx)
    cross = principal.has_iam_identity and principal.account != owner.account
    eligible = principal.eligible if _rcp_subject(owner, principal) else principal.eligible & ~RCP
    return request.action.lower(), ctx, owner, cross, eligible


def _fields(request: Request) -> tuple[Any, ...]:
    return (
        request.action_key,
        dict(request.ctx),
        request.owner,
        request.cross_account,
        request.eligible,
    )


def _corpus_requests() -> list[tuple[dict[str, Any], Request]]:
    found = []
    for case in load_cases():
        if "error" in case["expect"]:
            continue
        found.append((case["input"], _request(case["input"]["request"])))
    return found


CORPUS = _corpus_requests()


def test_corpus_requests_match_the_general_path() -> None:
    """On every corpus request the derived fields equal resolve_owner + plain normalisation."""
    for _, request in CORPUS:
        assert _fields(request) == _reference_fields(request), request


def test_corpus_decisions_with_normalised_context() -> None:
    """Passing the context pre-normalised gives the same Request fields and decision."""
    for raw, request in CORPUS:
        again = Request(
            request.principal,
            request.action,
            request.resource,
            NormalisedContext(request.context),
            request.resource_owner,
        )
        assert _fields(again) == _fields(request)
        policies = _policies(raw.get("policies"), request)
        assert evaluate(again, policies) == evaluate(request, policies)


def test_workload_requests_match_the_general_path() -> None:
    """The benchmark's requests (explicit owner) and the same without owner, both ways."""
    for request, policies in build_cases(build_workload(), full=True)[:1500]:
        assert _fields(request) == _reference_fields(request)
        bare = Request(request.principal, request.action, request.resource, ENVIRONMENT)
        assert _fields(bare) == _reference_fields(bare)
        normalised = Request(
            request.principal, request.action, request.resource, NormalisedContext(ENVIRONMENT)
        )
        assert _fields(normalised) == _fields(bare)
        assert evaluate(normalised, policies) == evaluate(bare, policies)


def test_owner_memo_tells_equal_looking_inputs_apart() -> None:
    """The owner memo keys on object identity, so distinct principals/owners never mix."""
    arn = f"arn:aws:iam::{ACCOUNT}:user/alice"
    in_org, no_org = Principal.iam_user(arn, org=Org("o-1")), Principal.iam_user(arn)
    management = Principal.iam_user(arn, org=Org("o-1", is_management_account=True))
    resource = "arn:aws:s3:::bucket/key"
    owners = [
        None,
        ResourceOwner(),
        ResourceOwner(org=None),
        ResourceOwner(account="444455556666"),
        ResourceOwner(kind=ResourceKind.KMS_KEY, rcp_supported=False),
        ResourceOwner(org=Org("o-2"), aws_managed_key=True),
    ]
    for _ in range(2):  # the second round is served from the memo
        for principal in (in_org, no_org, management):
            for owner in owners:
                for action in ("s3:GetObject", "sts:AssumeRole"):
                    request = Request(principal, action, resource, {}, owner)
                    assert _fields(request) == _reference_fields(request)
    kms = Request(in_org, "kms:Decrypt", "arn:aws:kms:us-east-1:444455556666:key/k")
    role = Request(in_org, "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/r")
    not_trust = Request(in_org, "iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/r")
    assert (kms.owner.kind, role.owner.kind, not_trust.owner.kind) == (
        ResourceKind.KMS_KEY, ResourceKind.ROLE_TRUST, ResourceKind.GENERIC,
    )  # fmt: skip
    assert Request(no_org, "s3:GetObject", "*").owner.account == ACCOUNT


_KEYS = st.sampled_from(
    ["aws:SourceIp", "AWS:SOURCEIP", "aws:sourceip", "s3:prefix", "S3:Prefix", "aws:TagKeys", "x"]
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.text(max_size=4),
    st.lists(st.one_of(st.text(max_size=3), st.booleans(), st.integers(0, 3)), max_size=3),
    st.tuples(st.text(max_size=3)),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=5), st.dictionaries(_KEYS, _VALUES, max_size=4))
def test_normalisation_matches_reference(raw: dict[str, Any], extra: dict[str, Any]) -> None:
    """Cached key lowering and the str fast path change nothing; merged() lays extra over."""
    assert normalise_context(raw) == _reference_context(raw)
    assert dict(NormalisedContext(raw)) == _reference_context(raw)
    kept = {key: value for key, value in extra.items() if value is not None}
    merged = NormalisedContext(raw).merged(extra)
    assert dict(merged) == {**_reference_context(raw), **_reference_context(kept)}
    spelt = {*raw, *extra}  # one key spelt in two cases: dict order decides, not replayed
    if len({key.lower() for key in spelt}) == len(spelt) and None not in extra.values():
        assert dict(merged) == _reference_context({**raw, **extra})


def test_normalised_context_is_not_shared_with_requests() -> None:
    """A Request gets its own working copy; the NormalisedContext never changes."""
    env = NormalisedContext(ENVIRONMENT)
    before = dict(env)
    alice = Principal.iam_user(f"arn:aws:iam::{ACCOUNT}:user/alice", org=Org("o-1"))
    request = Request(alice, "s3:GetObject", "arn:aws:s3:::b/k", env)
    assert request.ctx["aws:resourceaccount"] == ACCOUNT
    assert request.ctx["aws:resourceorgid"] == "o-1"
    assert dict(env) == before and "aws:resourceaccount" not in env
    assert env.merged({}) is env
    assert len(env) == len(ENVIRONMENT) and env["aws:sourceip"] == "10.1.2.3"


def test_request_is_an_immutable_value() -> None:
    """Equality, hashing, repr and copying look at the given fields, like a frozen dataclass."""
    alice = Principal.iam_user(f"arn:aws:iam::{ACCOUNT}:user/alice")
    one = Request(alice, "s3:GetObject", "arn:aws:s3:::b/k", {"a": "1"})
    two = Request(alice, "s3:GetObject", "arn:aws:s3:::b/k", {"a": "1"})
    assert one == two and one != Request(alice, "s3:PutObject", "arn:aws:s3:::b/k", {"a": "1"})
    assert one != ("not", "a", "request")
    assert repr(one) == (
        f"Request(principal={alice!r}, action='s3:GetObject', resource='arn:aws:s3:::b/k', "
        "context={'a': '1'}, resource_owner=None)"
    )
    with pytest.raises(FrozenInstanceError):
        one.action = "s3:PutObject"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del one.action  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(one)  # unhashable principal tags and context, as with the dataclass
    copied = copy.copy(one)  # rebuilt from the given fields (__reduce__)
    assert copied == one and _fields(copied) == _fields(one)
