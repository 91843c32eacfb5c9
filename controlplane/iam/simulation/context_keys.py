"""GetContextKeysForCustomPolicy and GetContextKeysForPrincipalPolicy: the context keys that
policies reference, so that a caller knows which ones to supply to the policy simulator.

A policy references a key in two ways: as the key of a Condition entry, and as a policy
variable (``${aws:username}``) in a Resource, NotResource or condition value of a
2012-10-17 policy. Keys come back as the policy spells them, in the order they are first
referenced; key names ignore case, so a key referenced twice in different case is listed
once, as first written (AWS's CLI example lists ``aws:username`` before ``aws:CurrentTime``
for a policy that references them in that order: the list is not sorted).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from controlplane.iam.operation import (
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
    any_resource,
)
from controlplane.iam.support.errors import invalid_input, no_such_entity
from replication.entities import Group, Role, User
from replication.policy import MalformedPolicyDocument, PolicyDocument, PolicyKind, parse_policy
from replication.policy_variables import variable_spans
from replication.state import IamState

__all__ = ["OPERATIONS", "context_keys_of", "referenced_keys"]

# ${*}, ${?} and ${$} stand for the literal characters, not for context keys
_LITERALS = frozenset({"*", "?", "$"})


def _variables(texts: Iterable[str]) -> Iterator[str]:
    for text in texts:
        for _start, _end, body in variable_spans(text):
            # ${key, 'default'}: the key is what comes before the comma
            key = body.split(",", 1)[0].strip()
            if key not in _LITERALS and ":" in key:
                yield key


def referenced_keys(document: PolicyDocument) -> Iterator[str]:
    """The context keys one parsed policy references, in document order (duplicates kept)."""
    for statement in document.statements:
        if document.variables_enabled:
            yield from _variables(statement.resource or ())
            yield from _variables(statement.not_resource or ())
        for condition in statement.conditions:
            yield condition.key
            if document.variables_enabled:
                yield from _variables(condition.values)


def context_keys_of(documents: Iterable[PolicyDocument]) -> list[str]:
    """Every key the documents reference, once (ignoring case), in first-reference order."""
    seen: dict[str, str] = {}
    for document in documents:
        for key in referenced_keys(document):
            seen.setdefault(key.lower(), key)
    return list(seen.values())


def _parsed(text: str) -> PolicyDocument:
    try:
        return parse_policy(text, PolicyKind.IDENTITY)
    except MalformedPolicyDocument as error:
        # both actions declare only InvalidInput for a bad policy (not MalformedPolicyDocument)
        raise invalid_input(error.message) from None


def _input_documents(params: Params) -> list[PolicyDocument]:
    return [_parsed(text) for text in params.get("PolicyInputList", [])]


def _principal(state: IamState, caller: Requester, arn: str) -> User | Role | Group:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or "/" not in parts[5]:
        raise invalid_input(f"Invalid ARN {arn}.")
    account, resource = parts[4], parts[5]
    kind, name = resource.split("/", 1)[0], resource.rsplit("/", 1)[-1]
    if kind not in ("user", "role", "group"):
        raise invalid_input(f"Invalid ARN {arn}: expected a user, group or role.")
    found: User | Role | Group | None = None
    if account == caller.account:  # IAM only ever answers about the caller's own account
        lookup = {"user": state.user, "role": state.role, "group": state.group}[kind]
        found = lookup(account, name)
    if found is None:
        raise no_such_entity(f"The {kind} with name {name} cannot be found.")
    return found


def _stored_texts(state: IamState, entity: User | Role | Group) -> list[str]:
    """The documents of the entity's inline and attached policies (default versions); a
    user's include those of its groups."""
    holders: list[User | Role | Group] = [entity]
    if isinstance(entity, User):
        holders += state.groups_of_user(entity)
    texts = [text for holder in holders for _, text in sorted(holder.inline_policies.items())]
    attached = dict.fromkeys(arn for holder in holders for arn in holder.attached_policies)
    for arn in attached:
        policy = state.managed_policy(arn)
        if policy is not None:
            texts.append(policy.default_document)
    return texts


def _stored_documents(texts: Iterable[str]) -> Iterator[PolicyDocument]:
    """Stored policies were validated when saved; one the parser refuses now is skipped
    rather than failing the whole call."""
    for text in texts:
        try:
            yield parse_policy(text, PolicyKind.IDENTITY)
        except MalformedPolicyDocument:
            continue


def get_context_keys_for_custom_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetContextKeysForCustomPolicy: the keys the given policies reference."""
    return HandlerResult({"ContextKeyNames": context_keys_of(_input_documents(params))})


def get_context_keys_for_principal_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetContextKeysForPrincipalPolicy: the keys of a user's, group's or role's policies
    (and its groups' for a user), plus those of ``PolicyInputList``."""
    entity = _principal(state, caller, str(params["PolicySourceArn"]))
    added = _input_documents(params)
    stored = list(_stored_documents(_stored_texts(state, entity)))
    return HandlerResult({"ContextKeyNames": context_keys_of([*stored, *added])})


OPERATIONS = (
    Operation(
        "GetContextKeysForCustomPolicy",
        get_context_keys_for_custom_policy,
        any_resource,
        OperationKind.READ,
    ),
    Operation(
        "GetContextKeysForPrincipalPolicy",
        get_context_keys_for_principal_policy,
        lambda s, p, c: str(p["PolicySourceArn"]),
        OperationKind.READ,
    ),
)
