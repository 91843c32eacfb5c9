"""The JSON edge of the engine (docs/evaluate-input.md): one input object in, one output dict out.

:func:`evaluate_document` never raises for bad input: a malformed policy or request becomes
``{"error": {"code", "message", "path"}}``. :func:`build_policy_set` turns stored JSON policy
documents into a compiled :class:`PolicySet`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dataplane.evaluation._accounts import account_decisions
from dataplane.evaluation._compile import CompiledPolicy, compile_policy
from dataplane.evaluation._evaluate import evaluate, explain_facts
from dataplane.evaluation._model import (
    Credential,
    CredentialKind,
    Level,
    Org,
    PrincipalType,
    ResourceKind,
    ResourceOwner,
)
from dataplane.evaluation._policyset import PolicySet
from dataplane.evaluation._principal import Principal
from dataplane.evaluation._request import Request
from replication.policy import MalformedPolicyDocument, PolicyDocument, PolicyKind, parse_policy

__all__ = ["InvalidInput", "build_policy_set", "evaluate_document", "explain_document"]

PolicySource = str | Mapping[str, Any] | PolicyDocument


class InvalidInput(ValueError):
    """A request object that does not follow docs/evaluate-input.md."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def _compiled(source: PolicySource, kind: PolicyKind, label: str) -> CompiledPolicy:
    try:
        document = source if isinstance(source, PolicyDocument) else parse_policy(source, kind)
    except MalformedPolicyDocument as error:
        path = f"{label}.{error.path}" if error.path else label
        raise MalformedPolicyDocument(error.message, path) from error
    return compile_policy(document, label)


def _levels(
    levels: Sequence[Sequence[PolicySource]] | None, kind: PolicyKind, name: str
) -> list[list[CompiledPolicy]] | None:
    if levels is None:
        return None
    return [
        [_compiled(doc, kind, f"{name}[{i}][{j}]") for j, doc in enumerate(level)]
        for i, level in enumerate(levels)
    ]


def build_policy_set(
    *,
    identity: Sequence[PolicySource] = (),
    resource: PolicySource | None = None,
    resource_kind: PolicyKind = PolicyKind.RESOURCE,
    boundary: PolicySource | None = None,
    session: Sequence[PolicySource] | None = None,
    scps: Sequence[Sequence[PolicySource]] | None = None,
    rcps: Sequence[Sequence[PolicySource]] | None = None,
) -> PolicySet:
    """Parse (as the right kind) and compile stored policy documents into a :class:`PolicySet`.

    Use ``resource_kind=PolicyKind.TRUST`` for a role's trust policy. Raises
    :class:`MalformedPolicyDocument` with a path such as ``identity[0].Statement[1].Action``.
    """
    return PolicySet(
        identity=[
            _compiled(d, PolicyKind.IDENTITY, f"identity[{i}]") for i, d in enumerate(identity)
        ],
        resource=None if resource is None else _compiled(resource, resource_kind, "resource"),
        boundary=None if boundary is None else _compiled(boundary, PolicyKind.BOUNDARY, "boundary"),
        session=None
        if session is None
        else [_compiled(d, PolicyKind.SESSION, f"session[{i}]") for i, d in enumerate(session)],
        scps=_levels(scps, PolicyKind.SCP, "scps"),
        rcps=_levels(rcps, PolicyKind.RCP, "rcps"),
    )


def _get(obj: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], path: str) -> Any:
    value = obj.get(key)
    if value is not None and not isinstance(value, kinds):
        raise InvalidInput(f"{key} has the wrong type", f"{path}.{key}")
    return value


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput("expected an object", path)
    return value


def _org(value: Any, path: str) -> Org | None:
    if value is None:
        return None
    raw = _mapping(value, path)
    org_id = _get(raw, "id", str, path)
    if org_id is None:
        raise InvalidInput("org.id is required", f"{path}.id")
    paths = _get(raw, "paths", list, path) or []
    return Org(org_id, bool(_get(raw, "is_management_account", bool, path)), tuple(map(str, paths)))


def _credential(value: Any, path: str, default: CredentialKind) -> Credential:
    raw = _mapping(value or {}, path)
    kind_text = _get(raw, "kind", str, path)
    try:
        kind = CredentialKind(kind_text) if kind_text is not None else default
    except ValueError as error:
        raise InvalidInput(f"unknown credential kind {kind_text!r}", f"{path}.kind") from error
    age = _get(raw, "mfa_age_seconds", int, path)
    issued = _get(raw, "issued_at", str, path)
    return Credential(kind, bool(_get(raw, "mfa", bool, path)), issued, age)


def _tags(value: Any, path: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, list):
        try:
            return {str(tag["Key"]): str(tag["Value"]) for tag in value}
        except (TypeError, KeyError) as error:
            raise InvalidInput("tags must be an object or a list of Key/Value", path) from error
    raw = _mapping(value, path)
    if not all(isinstance(v, str) for v in raw.values()):
        raise InvalidInput("tag values must be strings", path)
    return dict(raw)


_TEXT_FIELDS = [
    "arn",
    "account",
    "name",
    "unique_id",
    "role_arn",
    "role_unique_id",
    "session_name",
    "federating_user_arn",
    "source_identity",
    "service",
    "provider",
    "federated_provider",
]
_NEEDS_ARN = (PrincipalType.IAM_USER, PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER)
_DEFAULT_KINDS = {
    PrincipalType.ASSUMED_ROLE: CredentialKind.ASSUME_ROLE,
    PrincipalType.FEDERATED_USER: CredentialKind.GET_FEDERATION_TOKEN,
}


def _session_role(arn: str | None, account: str | None) -> str | None:
    """The role ARN (path unknown) behind an assumed-role session ARN."""
    if arn is None or "assumed-role/" not in arn:
        return None
    role = arn.split("assumed-role/", 1)[1].split("/", 1)[0]
    partition = arn.split(":")[1] if arn.count(":") >= 1 else "aws"
    return f"arn:{partition}:iam::{account}:role/{role}"


def _principal_object(raw: Mapping[str, Any], path: str) -> Principal:
    type_text = _get(raw, "type", str, path)
    try:
        kind = PrincipalType(type_text)
    except ValueError as error:
        raise InvalidInput(f"unknown principal type {type_text!r}", f"{path}.type") from error
    text = {key: _get(raw, key, str, path) for key in _TEXT_FIELDS}
    arn = text["arn"]
    if kind is PrincipalType.ROOT and arn is None and text["account"] is not None:
        arn = f"arn:aws:iam::{text['account']}:root"
    account = text["account"] or (arn.split(":")[4] if arn and arn.count(":") >= 5 else None)
    if kind in (PrincipalType.SERVICE,) and text["service"] is None:
        raise InvalidInput("a Service principal needs service", f"{path}.service")
    if kind in (PrincipalType.WEB_IDENTITY, PrincipalType.SAML) and text["provider"] is None:
        raise InvalidInput(f"a {kind.value} principal needs provider", f"{path}.provider")
    if kind is PrincipalType.ROOT and arn is None:
        raise InvalidInput("a Root principal needs account or arn", f"{path}.account")
    if kind in _NEEDS_ARN and arn is None:
        raise InvalidInput(f"a {kind.value} principal needs arn", f"{path}.arn")
    name = text["name"]
    if name is None and arn is not None and kind is not PrincipalType.ROOT:
        name = arn.rsplit("/", 1)[-1]
    session_name = text["session_name"] or (name if kind is PrincipalType.ASSUMED_ROLE else None)
    return Principal(
        kind,
        arn=arn,
        account=account,
        name=name,
        unique_id=text["unique_id"],
        tags=_tags(raw.get("tags"), f"{path}.tags"),
        org=_org(raw.get("org"), f"{path}.org"),
        service_linked=bool(_get(raw, "service_linked", bool, path)),
        credential=_credential(
            raw.get("credential"),
            f"{path}.credential",
            _DEFAULT_KINDS.get(kind, CredentialKind.LONG_TERM),
        ),
        role_arn=text["role_arn"] or _session_role(arn, account),
        role_unique_id=text["role_unique_id"],
        session_name=session_name,
        federating_user_arn=text["federating_user_arn"],
        source_identity=text["source_identity"],
        service=text["service"],
        provider=text["provider"],
        federated_provider=text["federated_provider"],
    )


def _principal(value: Any, path: str) -> Principal:
    if isinstance(value, str):
        try:
            return Principal.from_arn(value)
        except ValueError as error:
            raise InvalidInput(str(error), path) from error
    return _principal_object(_mapping(value, path), path)


def _owner(value: Any, path: str) -> ResourceOwner | None:
    if value is None:
        return None
    raw = _mapping(value, path)
    kind_text = _get(raw, "kind", str, path)
    try:
        kind = ResourceKind(kind_text) if kind_text is not None else None
    except ValueError as error:
        raise InvalidInput(f"unknown resource kind {kind_text!r}", f"{path}.kind") from error
    rcp_supported = _get(raw, "rcp_supported", bool, path)
    return ResourceOwner(
        account=_get(raw, "account", str, path),
        kind=kind,
        org=_org(raw["org"], f"{path}.org") if "org" in raw else "principal",
        rcp_supported=True if rcp_supported is None else rcp_supported,
        aws_managed_key=bool(_get(raw, "aws_managed_key", bool, path)),
    )


def _request(value: Any) -> Request:
    raw = _mapping(value, "request")
    principal = _principal(raw.get("principal"), "request.principal")
    action = _get(raw, "action", str, "request")
    resource = _get(raw, "resource", str, "request")
    if action is None or resource is None:
        field = "action" if action is None else "resource"
        raise InvalidInput(f"request.{field} is required", f"request.{field}")
    context = _mapping(raw.get("context") or {}, "request.context")
    for key, item in context.items():
        items = item if isinstance(item, list) else [item]
        if not all(isinstance(x, str | int | float | bool) for x in items):
            raise InvalidInput(
                "context values are strings, numbers or booleans", f"request.context.{key}"
            )
    owner = _owner(raw.get("resource_owner"), "request.resource_owner")
    return Request(principal, action, resource, dict(context), owner)


def _list(raw: Mapping[str, Any], key: str, nested: bool) -> Any:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or (nested and not all(isinstance(v, list) for v in value)):
        raise InvalidInput(
            f"policies.{key} must be a {'list of lists' if nested else 'list'}", f"policies.{key}"
        )
    return value


def _policies(value: Any, request: Request) -> PolicySet:
    raw = _mapping(value if value is not None else {}, "policies")
    trust = request.owner.kind is ResourceKind.ROLE_TRUST
    try:
        return build_policy_set(
            identity=_list(raw, "identity", False) or (),
            resource=raw.get("resource"),
            resource_kind=PolicyKind.TRUST if trust else PolicyKind.RESOURCE,
            boundary=raw.get("boundary"),
            session=_list(raw, "session", False),
            scps=_list(raw, "scps", True),
            rcps=_list(raw, "rcps", True),
        )
    except MalformedPolicyDocument as error:
        raise MalformedPolicyDocument(error.message, f"policies.{error.path}") from error


def _error(code: str, message: str, path: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "path": path}}


def _facts_dict(request: Request, policies: PolicySet) -> dict[str, Any] | None:
    facts = explain_facts(request, policies)
    if facts is None:
        return None
    return {
        name: value.name
        if isinstance(value, Level)
        else str(value)
        if isinstance(value, str)
        else value
        for name, value in facts._asdict().items()
    }


def _run(obj: Any, with_facts: bool, with_accounts: bool = False) -> dict[str, Any]:
    try:
        raw = _mapping(obj, "")
        request = _request(raw.get("request"))
        policies = _policies(raw.get("policies"), request)
        decision = evaluate(request, policies)
        result = decision.to_dict()
        if with_facts:
            result["facts"] = _facts_dict(request, policies)
        if with_accounts:
            sides = account_decisions(request, policies, decision)
            if sides is not None:
                result["account_decisions"] = sides._asdict()
        return result
    except MalformedPolicyDocument as error:
        return _error("MalformedPolicyDocument", error.message, error.path)
    except InvalidInput as error:
        return _error("InvalidInput", error.message, error.path)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        return _error("InvalidInput", f"unreadable input: {error}", "")


def evaluate_document(obj: Any, *, with_accounts: bool = False) -> dict[str, Any]:
    """Evaluate one docs/evaluate-input.md object; returns the decision dict or an error object.

    ``with_accounts`` adds ``account_decisions`` (each account's decision) to a
    cross-account answer, for IAM's simulation.
    """
    return _run(obj, with_facts=False, with_accounts=with_accounts)


def explain_document(obj: Any) -> dict[str, Any]:
    """Like :func:`evaluate_document`, plus ``facts``: what each stage found (for --explain).

    ``facts`` is ``None`` when a credential rule (R70, R82, R83) decided before any policy.
    """
    return _run(obj, with_facts=True)
