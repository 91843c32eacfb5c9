"""Long-term callers: resolve an access key or a principal ARN against the replica's state.

An access key the replica has not yet received is unknown here even if the control plane has
already acknowledged it: that is the create-then-use race of real IAM, and it answers with
AWS's ``InvalidClientTokenId``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from awswire.errors import AwsError, invalid_client_token_id
from dataplane.evaluation import CompiledPolicy, Principal
from dataplane.identity.policy_index import PolicyIndex
from replication.arns import root_arn
from replication.entities import AccessKey, Role, User
from replication.state import IamState

__all__ = ["LongTermCaller", "principal_by_access_key", "principal_by_arn"]

_NO_KEYS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LongTermCaller:
    """An authenticated long-term identity: an IAM user, or an account's root user (a
    :class:`~dataplane.identity.callers.Caller`)."""

    account: str
    arn: str
    user: User | None  # None for the root user

    @property
    def principal_type(self) -> str:
        """``User`` or ``Account`` (root), as aws:PrincipalType says."""
        return "User" if self.user is not None else "Account"

    @property
    def cache_key(self) -> str:
        """The ARN: all the principal and the policies depend on besides the state."""
        return "principal:" + self.arn

    @property
    def principal_is_timeless(self) -> bool:
        """Always: a long-term identity's principal carries no credential age."""
        return True

    @property
    def user_id(self) -> str:
        """``UserId`` as GetCallerIdentity reports it: the user's id, the account for root."""
        return self.user.user_id if self.user is not None else self.account

    @property
    def request_context(self) -> Mapping[str, str]:
        """No context keys of its own: AWS sets none for long-term keys."""
        return _NO_KEYS

    def principal(self, state: IamState, index: PolicyIndex, now: float) -> Principal:
        """The engine's principal (cached in ``index`` per version of the user and its org)."""
        if self.user is not None:
            return index.user_principal(self.user, state)
        return index.root_principal(self.account, state)

    def entity(self, state: IamState) -> User | Role | None:
        """The IAM user whose identity policies apply; None for root."""
        return self.user

    def session_policies(
        self, state: IamState, index: PolicyIndex
    ) -> tuple[CompiledPolicy, ...] | None:
        """None: a long-term key has no session policy."""
        return None


def principal_by_access_key(state: IamState, access_key_id: str) -> tuple[LongTermCaller, str]:
    """The owner of an active access key and its secret; InvalidClientTokenId otherwise."""
    key: AccessKey | None = state.access_keys.get(access_key_id)
    if key is None or key.status != "Active":
        raise invalid_client_token_id()
    if key.user_name is None:
        return LongTermCaller(key.account, root_arn(key.account), None), key.secret_access_key
    user = state.user(key.account, key.user_name)
    if user is None:  # the key's user is gone: the key went with it
        raise invalid_client_token_id()
    return LongTermCaller(key.account, user.arn, user), key.secret_access_key


def principal_by_arn(state: IamState, arn: str) -> LongTermCaller:
    """The user or root user named by ``arn``; NoSuchEntity when this replica does not know it."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam":
        raise AwsError("InvalidInput", f"Invalid principal ARN: {arn}", 400)
    account, resource = parts[4], parts[5]
    if resource == "root":
        if account not in state.accounts:
            raise AwsError("NoSuchEntity", f"The account {account} cannot be found.", 404)
        return LongTermCaller(account, root_arn(account), None)
    if not resource.startswith("user/"):
        raise AwsError("InvalidInput", f"Unsupported principal ARN: {arn}", 400)
    name = resource.rsplit("/", 1)[1]
    user = state.user(account, name)
    if user is None or user.arn != arn:
        raise AwsError("NoSuchEntity", f"The user with name {name} cannot be found.", 404)
    return LongTermCaller(account, user.arn, user)
