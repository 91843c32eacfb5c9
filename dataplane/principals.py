"""Who is asking: resolve an access key or a principal ARN against the replica's state.

An access key the replica has not yet received is unknown here even if the control plane has
already acknowledged it: that is the create-then-use race of real IAM, and it answers with
AWS's ``InvalidClientTokenId``.
"""

from __future__ import annotations

from dataclasses import dataclass

from awswire.errors import AwsError, invalid_client_token_id
from replication.arns import root_arn
from replication.entities import AccessKey, User
from replication.state import IamState

__all__ = ["ResolvedPrincipal", "principal_by_access_key", "principal_by_arn"]


@dataclass(frozen=True, slots=True)
class ResolvedPrincipal:
    """An authenticated long-term identity: an IAM user, or an account's root user."""

    account: str
    arn: str
    user: User | None  # None for the root user

    @property
    def principal_type(self) -> str:
        """``User`` or ``Account`` (root), as aws:PrincipalType says."""
        return "User" if self.user is not None else "Account"


def principal_by_access_key(state: IamState, access_key_id: str) -> tuple[ResolvedPrincipal, str]:
    """The owner of an active access key and its secret; InvalidClientTokenId otherwise."""
    key: AccessKey | None = state.access_keys.get(access_key_id)
    if key is None or key.status != "Active":
        raise invalid_client_token_id()
    if key.user_name is None:
        return ResolvedPrincipal(key.account, root_arn(key.account), None), key.secret_access_key
    user = state.user(key.account, key.user_name)
    if user is None:  # the key's user is gone: the key went with it
        raise invalid_client_token_id()
    return ResolvedPrincipal(key.account, user.arn, user), key.secret_access_key


def principal_by_arn(state: IamState, arn: str) -> ResolvedPrincipal:
    """The user or root user named by ``arn``; NoSuchEntity when this replica does not know it."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam":
        raise AwsError("InvalidInput", f"Invalid principal ARN: {arn}", 400)
    account, resource = parts[4], parts[5]
    if resource == "root":
        if account not in state.accounts:
            raise AwsError("NoSuchEntity", f"The account {account} cannot be found.", 404)
        return ResolvedPrincipal(account, root_arn(account), None)
    if not resource.startswith("user/"):
        raise AwsError("InvalidInput", f"Unsupported principal ARN: {arn}", 400)
    name = resource.rsplit("/", 1)[1]
    user = state.user(account, name)
    if user is None or user.arn != arn:
        raise AwsError("NoSuchEntity", f"The user with name {name} cannot be found.", 404)
    return ResolvedPrincipal(account, user.arn, user)
