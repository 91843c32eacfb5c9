"""Who is calling and may they: the authorization every control-plane API shares.

The caller is named from the projection (to build the resource ARN it is authorized on); the
us-east-1 data plane verifies the signature and evaluates the caller's policies.
"""

from __future__ import annotations

from aiohttp import web

from awswire.errors import AwsError, access_denied
from awswire.sigv4 import parse_signature
from controlplane.authorizer import DataPlaneAuthorizer
from controlplane.iam import Operation, Requester
from controlplane.iam.operation import PassedRole
from controlplane.stages import current_stages
from controlplane.writer import Writer
from replication.arns import root_arn
from replication.ids import account_of_access_key

__all__ = ["CallerAccess"]

_DENIAL_REASONS = {
    "explicit_deny": "with an explicit deny in an identity-based policy",
    "scp": "because no service control policy allows the {action} action",
    "boundary": "because no permissions boundary allows the {action} action",
    "session": "because no session policy allows the {action} action",
}


def _denied(principal: str, action: str, resource: str, decided_by: str) -> AwsError:
    reason = _DENIAL_REASONS.get(
        decided_by, "because no identity-based policy allows the {action} action"
    ).format(action=action)
    return access_denied(
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        + reason
    )


class CallerAccess:
    """Authenticates and authorizes one call through the us-east-1 data plane."""

    def __init__(self, writer: Writer, authorizer: DataPlaneAuthorizer) -> None:
        self._writer = writer
        self._authorizer = authorizer

    def presumed_caller(self, access_key_id: str) -> Requester:
        """Name the caller from the projection, to build the resource ARN it is authorized on."""
        state = self._writer.state
        key = state.access_keys.get(access_key_id)
        account = key.account if key else account_of_access_key(access_key_id) or "000000000000"
        if key is None or key.user_name is None:
            return Requester(account, root_arn(account), None)
        user = state.user(account, key.user_name)
        return Requester(account, user.arn if user else root_arn(account), key.user_name)

    async def authorize(
        self, request: web.Request, body: bytes, operation: Operation, params: dict[str, object]
    ) -> Requester:
        """The caller, once the data plane allowed ``operation``; AccessDenied otherwise."""
        claim = parse_signature(
            request.method,
            request.rel_url.raw_path,
            request.rel_url.raw_query_string,
            request.headers,
        )
        presumed = self.presumed_caller(claim.access_key_id)
        state = self._writer.state
        resource = operation.resource(state, params, presumed)
        times = current_stages()
        if times is not None:
            times.lap("caller")
        answer = await self._authorizer.authorize(
            request, body, operation.iam_action, resource, operation.service
        )
        if times is not None:
            times.lap_reported("hop", answer.reported)
        if answer.decision != "Allow":
            raise _denied(answer.principal, operation.iam_action, resource, answer.decided_by)
        target = None if operation.target is None else operation.target(state, params, presumed)
        if target is not None and target != resource:  # a rename: the new name must be allowed
            answer = await self._authorizer.authorize(
                request, body, operation.iam_action, target, operation.service
            )
            if times is not None:
                times.lap_reported("hop", answer.reported)
            if answer.decision != "Allow":
                raise _denied(answer.principal, operation.iam_action, target, answer.decided_by)
        if operation.passed_role is not None:
            await self._authorize_pass_role(
                request, body, operation.passed_role(state, params, presumed)
            )
        if answer.principal != presumed.arn:
            # a session (or a key the projection does not know yet): the data plane names it
            return Requester.from_arn(answer.principal)
        return presumed

    async def _authorize_pass_role(
        self, request: web.Request, body: bytes, role: PassedRole
    ) -> None:
        """AccessDenied unless the caller may pass ``role`` to its service (iam:PassRole)."""
        context = {
            "iam:PassedToService": role.service,
            "iam:AssociatedResourceArn": role.associated_resource,
        }
        answer = await self._authorizer.authorize(
            request, body, "iam:PassRole", role.arn, "iam", context
        )
        if answer.decision != "Allow":
            raise _denied(answer.principal, "iam:PassRole", role.arn, answer.decided_by)
