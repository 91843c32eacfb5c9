"""Temporary credentials as callers: open the token, check it, and evaluate as the session.

A session is evaluated against the replica's *current* state: the role's identity policies
and boundary as this replica knows them now, plus the session policies sealed in the token.
So "revoke active sessions" (a Deny on ``aws:TokenIssueTime`` added to the role) or deleting
the role takes effect in a region exactly when that change reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from awswire.errors import AuthFailure, invalid_client_token_id
from dataplane.evaluation import (
    CompiledPolicy,
    Credential,
    CredentialKind,
    Principal,
)
from dataplane.identity.policy_index import PolicyIndex
from dataplane.identity.tokens import SessionClaims, TokenError, TokenKeys
from replication.entities import Role, User
from replication.policy import PolicyKind
from replication.state import IamState

__all__ = ["Session", "expired_token", "iso_time", "open_session"]

_CREDENTIAL_KINDS = {
    "AssumeRole": CredentialKind.ASSUME_ROLE,
    "AssumeRoleWithWebIdentity": CredentialKind.ASSUME_ROLE,
    "SAML": CredentialKind.ASSUME_ROLE,
    "InstanceProfile": CredentialKind.ASSUME_ROLE,
    "GetSessionToken": CredentialKind.GET_SESSION_TOKEN,
    "GetFederationToken": CredentialKind.GET_FEDERATION_TOKEN,
}

_NO_KEYS: Mapping[str, str] = MappingProxyType({})


def iso_time(epoch: float) -> str:
    """Epoch seconds as the ISO-8601 UTC text of aws:TokenIssueTime."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expired_token() -> AuthFailure:
    """``ExpiredToken`` (403), worded as AWS does."""
    return AuthFailure("ExpiredToken", "The security token included in the request is expired", 403)


@dataclass(frozen=True, slots=True)
class Session:
    """An authenticated caller holding temporary credentials (a
    :class:`~dataplane.identity.callers.Caller`)."""

    claims: SessionClaims

    @property
    def cache_key(self) -> str:
        """The token id: random, and sealed with every other claim the session is made of."""
        return "session:" + self.claims.token_id

    @property
    def principal_is_timeless(self) -> bool:
        """Whether the principal ignores the clock: all but MFA sessions, whose principal
        carries the MFA age."""
        claims = self.claims
        return not (claims.mfa and claims.mfa_authenticated_at is not None)

    @property
    def account(self) -> str:
        """The account the session belongs to."""
        return self.claims.account

    @property
    def is_role_session(self) -> bool:
        """Whether the session is a role session (AssumeRole, web identity, SAML, instance)."""
        return self.claims.role_arn is not None

    @property
    def is_chaining(self) -> bool:
        """Whether AssumeRole with this session is role chaining (instance profiles are not)."""
        return self.is_role_session and self.claims.kind != "InstanceProfile"

    @property
    def arn(self) -> str:
        """The session's ARN: assumed-role, federated-user, or the IAM user/root ARN."""
        claims = self.claims
        if claims.role_arn is not None:
            role_name = claims.role_arn.rsplit("/", 1)[-1]
            return f"arn:aws:sts::{claims.account}:assumed-role/{role_name}/{claims.session_name}"
        if claims.federated_name is not None:
            return f"arn:aws:sts::{claims.account}:federated-user/{claims.federated_name}"
        return claims.user_arn or f"arn:aws:iam::{claims.account}:root"

    @property
    def user_id(self) -> str:
        """The ``UserId`` GetCallerIdentity reports (aws:userid)."""
        claims = self.claims
        if claims.role_id is not None:
            return f"{claims.role_id}:{claims.session_name}"
        if claims.federated_name is not None:
            return f"{claims.account}:{claims.federated_name}"
        return claims.user_id or claims.account

    @property
    def request_context(self) -> Mapping[str, str]:
        """Context keys AWS sets on every request signed with this session (a caller cannot
        supply them): an instance profile session's ``ec2:SourceInstanceARN`` and
        ``ec2:RoleDelivery``; empty for any other session."""
        claims = self.claims
        if claims.source_instance_arn is None:
            return _NO_KEYS
        keys = {"ec2:SourceInstanceARN": claims.source_instance_arn}
        if claims.role_delivery is not None:
            keys["ec2:RoleDelivery"] = claims.role_delivery
        return keys

    def credential(self, now: float) -> Credential:
        """The engine's view of the credential: kind, MFA, issue time (R37)."""
        claims = self.claims
        age = None
        if claims.mfa and claims.mfa_authenticated_at is not None:
            age = max(0, int(now - claims.mfa_authenticated_at))
        return Credential(
            kind=_CREDENTIAL_KINDS[claims.kind],
            mfa=claims.mfa,
            issued_at=iso_time(claims.issued_at),
            mfa_age_seconds=age,
        )

    def role(self, state: IamState) -> Role | None:
        """The session's role as this replica knows it; None once deleted (or re-created)."""
        claims = self.claims
        if claims.role_arn is None:
            return None
        role = state.role(claims.account, claims.role_arn.rsplit("/", 1)[-1])
        return role if role is not None and role.role_id == claims.role_id else None

    def user(self, state: IamState) -> User | None:
        """The IAM user behind a GetSessionToken/GetFederationToken session, if it still exists."""
        claims = self.claims
        if claims.user_arn is None:
            return None
        user = state.user(claims.account, claims.user_arn.rsplit("/", 1)[-1])
        return user if user is not None and user.user_id == claims.user_id else None

    def entity(self, state: IamState) -> Role | User | None:
        """The role (or IAM user) whose identity policies apply, as this replica knows it now;
        None once it is gone, or for a root session."""
        return self.role(state) if self.is_role_session else self.user(state)

    def principal(self, state: IamState, index: PolicyIndex, now: float) -> Principal:
        """The engine's principal for this session (tags: entity's, overlaid by the session's;
        the organization of the session's account, if any)."""
        claims = self.claims
        credential = self.credential(now)
        org = index.organization(state, claims.account).org
        entity = self.entity(state)
        tags = _overlay({t.key: t.value for t in entity.tags} if entity else {}, claims.tags)
        if claims.role_arn is not None:
            return Principal.assumed_role(
                claims.role_arn,
                claims.session_name or "",
                role_unique_id=claims.role_id,
                tags=tags,
                org=org,
                credential=credential,
                source_identity=claims.source_identity,
                federated_provider=claims.federated_provider,
            )
        if claims.federated_name is not None:
            return Principal.federated_user(
                self.arn, claims.user_arn, tags=tags, org=org, credential=credential
            )
        if claims.user_arn is not None:
            return Principal.iam_user(
                claims.user_arn, unique_id=claims.user_id, tags=tags, org=org, credential=credential
            )
        return Principal.root(claims.account, org=org, credential=credential)

    def session_policies(
        self, state: IamState, index: PolicyIndex
    ) -> tuple[CompiledPolicy, ...] | None:
        """The session policies: the inline one sealed in the token, and the managed ones
        (default version as this replica knows it now); None when none were passed.

        A managed policy that no longer exists grants nothing, so it only narrows further.
        """
        claims = self.claims
        if not claims.has_session_policy:
            return None
        compiled = []
        if claims.policy is not None:
            compiled.append(index.document(claims.policy, PolicyKind.SESSION, "session"))
        for arn in claims.policy_arns:
            managed = state.managed_policy(arn)
            if managed is not None:
                compiled.append(index.document(managed.default_document, PolicyKind.SESSION, arn))
        return tuple(compiled)


def _overlay(base: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """R76: session tags replace entity tags with the same key, regardless of case."""
    lowered = {key.lower() for key in overrides}
    merged = {k: v for k, v in base.items() if k.lower() not in lowered}
    merged.update(overrides)
    return merged


def open_session(
    keys: TokenKeys | None, access_key_id: str, token: str | None, now: float
) -> tuple[Session, str]:
    """The session a temporary key and its token name, and its derived secret.

    InvalidClientTokenId for a missing, forged or foreign token; ExpiredToken once expired.
    """
    if keys is None or not token:
        raise invalid_client_token_id()
    try:
        claims = keys.open(token)
        secret = keys.secret_for(claims)
    except TokenError:
        raise invalid_client_token_id() from None
    if claims.access_key_id != access_key_id:
        raise invalid_client_token_id()
    if now >= claims.expires_at:
        raise expired_token()
    return Session(claims), secret
