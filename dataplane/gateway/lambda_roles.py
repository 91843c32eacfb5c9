"""Lambda's CreateFunction: the execution role must exist and trust ``lambda.amazonaws.com``
in *this region's* view of IAM, or AWS answers "The role defined for the function cannot be
assumed by Lambda." -- the race a new role meets in every region until it arrives.

A role the replica knows and that trusts Lambda is then mirrored into the backend's own IAM
(moto checks the role exists there), so the backend accepts the function.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from awswire.errors import AwsError
from dataplane.evaluation import Principal, ResourceKind, ResourceOwner, evaluate
from dataplane.gateway.forward import Backend
from dataplane.gateway.routing import ServiceCall
from dataplane.identity.callers import policy_set_for
from dataplane.identity.policy_index import PolicyIndex
from dataplane.identity.requests import engine_request
from replication.arns import parse_iam_arn
from replication.policy import PolicyKind
from replication.state import IamState
from replication.trust import rendered_trust_policy

__all__ = ["LAMBDA_SERVICE", "check_execution_role"]

LAMBDA_SERVICE = "lambda.amazonaws.com"
_ROLE_OPERATIONS = frozenset({"CreateFunction", "UpdateFunctionConfiguration"})


def _cannot_assume() -> AwsError:
    return AwsError(
        "InvalidParameterValueException",
        "The role defined for the function cannot be assumed by Lambda.",
        400,
    )


async def check_execution_role(  # noqa: PLR0917 - the call, the state it is judged on, where
    call: ServiceCall,
    state: IamState,
    index: PolicyIndex,
    environment: dict[str, Any],
    backend: Backend,
    region: str,
) -> None:
    """Refuse a function whose role Lambda cannot assume here; mirror the role otherwise."""
    if call.service != "lambda" or call.operation not in _ROLE_OPERATIONS:
        return
    role_arn = call.params.get("Role")
    if not isinstance(role_arn, str):
        return
    parsed = parse_iam_arn(role_arn)
    role = state.role(parsed[0], parsed[3]) if parsed is not None and parsed[1] == "role" else None
    if role is None or role.arn != role_arn:
        raise _cannot_assume()
    trust = index.document(
        rendered_trust_policy(state, role), PolicyKind.TRUST, f"trust:{role.name}"
    )
    owner = ResourceOwner(account=role.account, kind=ResourceKind.ROLE_TRUST)
    lambda_service = Principal.aws_service(LAMBDA_SERVICE)
    request = engine_request(lambda_service, "sts:AssumeRole", role.arn, environment, owner=owner)
    # the trust policy alone, without the role account's RCPs
    if not evaluate(request, policy_set_for(state, index, None, trust)).allowed:
        raise _cannot_assume()
    form = urlencode(
        {
            "Action": "CreateRole",
            "Version": "2010-05-08",
            "RoleName": role.name,
            "Path": role.path,
            "AssumeRolePolicyDocument": role.trust_policy,
        }
    )
    scope = (
        f"AWS4-HMAC-SHA256 Credential=AKIAIAMPLANESGATEWAY/20200101/{region}/iam/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )
    # EntityAlreadyExists (mirrored before) is as good as created
    await backend.call(
        "POST",
        "/",
        role.account,
        {"Content-Type": "application/x-www-form-urlencoded", "Authorization": scope},
        form.encode(),
    )
