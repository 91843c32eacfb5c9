"""Trust policies at save time: parse as TRUST and bind named users/roles to unique IDs (R22)."""

from __future__ import annotations

from controlplane.iam.policies.documents import validated, within_trust_policy_quota
from controlplane.iam.support.errors import malformed_policy
from replication.arns import parse_iam_arn
from replication.policy import PolicyKind
from replication.state import IamState
from replication.trust import current_unique_id

__all__ = ["validated_trust_policy"]


def validated_trust_policy(state: IamState, document: str) -> dict[str, str]:
    """Validate a trust policy; return the unique ID of every user/role ARN it names.

    A document over the trust-policy quota is LimitExceeded; a user or role that does not
    exist is AWS's ``Invalid principal in policy``.
    """
    within_trust_policy_quota(document)
    parsed = validated(document, PolicyKind.TRUST)
    bound: dict[str, str] = {}
    for statement in parsed.statements:
        for principals in (statement.principal, statement.not_principal):
            for arn in (principals or {}).get("AWS", ()):
                target = parse_iam_arn(arn)
                if target is None or target[1] not in ("user", "role"):
                    continue
                unique_id = current_unique_id(state, arn)
                if unique_id is None:
                    raise malformed_policy(f'Invalid principal in policy: "AWS":"{arn}"')
                bound[arn] = unique_id
    return bound
