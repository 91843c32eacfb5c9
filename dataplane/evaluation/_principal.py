"""The authenticated caller and its identity chain (docs/evaluation.md R18-R23, R36).

A :class:`Principal` precomputes, once, everything the hot path needs: its derived context
keys, the identifiers that match it at DIRECT and PARENT level, and the chain NotPrincipal
must list in full (R21). Keep principal objects around (e.g. per access key) to reuse this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from dataplane.evaluation._context import ContextValue, principal_keys
from dataplane.evaluation._decide import CallerKind
from dataplane.evaluation._model import Credential, CredentialKind, Org, PrincipalType
from dataplane.evaluation._sets import BOUNDARY, IDENTITY, RCP, RESOURCE, SCP, SESSION

__all__ = ["Principal"]

_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<rest>.+)"
)
_CALLERS = {
    PrincipalType.IAM_USER: CallerKind.USER,
    PrincipalType.ASSUMED_ROLE: CallerKind.ROLE_SESSION,
    PrincipalType.FEDERATED_USER: CallerKind.FEDERATED,
    PrincipalType.ROOT: CallerKind.ROOT,
}
#: principals with identity policies and boundaries (R40); root and callers without IAM have none
_ENTITY_TYPES = frozenset(
    {PrincipalType.IAM_USER, PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER}
)
_SESSION_TYPES = frozenset({PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER})
_DEFAULT_CREDENTIAL = {
    PrincipalType.ASSUMED_ROLE: CredentialKind.ASSUME_ROLE,
    PrincipalType.FEDERATED_USER: CredentialKind.GET_FEDERATION_TOKEN,
}


def _root_arn(account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:root"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated (or anonymous) caller; build it with the class-method constructors.

    ``has_iam_identity`` is false for anonymous, service and unsigned web-identity/SAML callers
    (R49); ``scp_subject`` says whether SCPs restrict it (member account, not a service-linked
    role, R58/R60).
    """

    type: PrincipalType
    arn: str | None = None
    account: str | None = None
    name: str | None = None
    unique_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    org: Org | None = None
    service_linked: bool = False
    credential: Credential = field(default_factory=Credential)
    role_arn: str | None = None
    role_unique_id: str | None = None
    session_name: str | None = None
    federating_user_arn: str | None = None
    source_identity: str | None = None
    service: str | None = None
    provider: str | None = None
    federated_provider: str | None = None
    derived: Mapping[str, ContextValue] = field(init=False, repr=False, compare=False)
    direct_ids: frozenset[str] = field(init=False, repr=False, compare=False)
    parent_ids: frozenset[str] = field(init=False, repr=False, compare=False)
    chain: tuple[frozenset[str], ...] = field(init=False, repr=False, compare=False)
    caller: CallerKind = field(init=False, repr=False, compare=False)
    has_iam_identity: bool = field(init=False, repr=False, compare=False)
    is_iam_entity: bool = field(init=False, repr=False, compare=False)
    is_session: bool = field(init=False, repr=False, compare=False)
    scp_subject: bool = field(init=False, repr=False, compare=False)
    long_term: bool = field(init=False, repr=False, compare=False)
    eligible: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.credential.kind is CredentialKind.LONG_TERM and self.type in _DEFAULT_CREDENTIAL:
            kind = _DEFAULT_CREDENTIAL[self.type]
            object.__setattr__(self, "credential", replace(self.credential, kind=kind))
        object.__setattr__(self, "derived", MappingProxyType(principal_keys(self)))
        direct = {self.arn, self.unique_id} if self.type is not PrincipalType.ROOT else set()
        parent = {self.role_arn, self.role_unique_id, self.federating_user_arn}
        object.__setattr__(self, "direct_ids", frozenset(i for i in direct if i))
        object.__setattr__(self, "parent_ids", frozenset(i for i in parent if i))
        object.__setattr__(self, "chain", self._chain())
        object.__setattr__(self, "caller", _CALLERS.get(self.type, CallerKind.IDENTITYLESS))
        object.__setattr__(self, "has_iam_identity", self.caller is not CallerKind.IDENTITYLESS)
        object.__setattr__(self, "is_iam_entity", self.type in _ENTITY_TYPES)
        object.__setattr__(self, "is_session", self.type in _SESSION_TYPES)
        org = self.org
        scp_subject = self.has_iam_identity and org is not None and not org.is_management_account
        object.__setattr__(self, "scp_subject", scp_subject and not self.service_linked)
        object.__setattr__(self, "long_term", self.credential.kind is CredentialKind.LONG_TERM)
        object.__setattr__(self, "eligible", self._eligible())

    def _eligible(self) -> int:
        """R40: the policy types that can apply to this caller (RCPs are decided per resource)."""
        mask = RESOURCE | RCP
        if self.is_iam_entity:
            mask |= IDENTITY | BOUNDARY  # none for root, anonymous, services (R40, R52)
        if self.is_session:
            mask |= SESSION
        if self.scp_subject:
            mask |= SCP  # R58/R60
        return mask

    def _chain(self) -> tuple[frozenset[str], ...]:
        """Every identity NotPrincipal must list to exclude this caller (R21)."""
        links: list[frozenset[str]] = []
        if self.direct_ids:
            links.append(self.direct_ids)
        if self.parent_ids:
            links.append(self.parent_ids)
        if self.account is not None:
            links.append(self.account_ids)
        for name in (self.service, self.provider):
            if name is not None:
                links.append(frozenset({name}))
        return tuple(links) or (frozenset(),)

    @property
    def account_ids(self) -> frozenset[str]:
        """The two spellings of the caller's account as a principal (R19)."""
        if self.account is None:
            return frozenset()
        return frozenset({self.account, _root_arn(self.account, self.partition)})

    @property
    def partition(self) -> str:
        """The ARN partition of the caller (``aws`` when unknown)."""
        found = _ARN.fullmatch(self.arn or "")
        return found.group("partition") if found else "aws"

    @classmethod
    def iam_user(
        cls,
        arn: str,
        *,
        unique_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        org: Org | None = None,
        credential: Credential | None = None,
        service_linked: bool = False,
    ) -> Principal:
        """An IAM user, from its ARN (``arn:aws:iam::ACCT:user/PATH/NAME``)."""
        found = _ARN.fullmatch(arn)
        account = found.group("account") if found else None
        name = arn.rsplit("/", 1)[-1] if "/" in arn else None
        return cls(
            PrincipalType.IAM_USER,
            arn=arn,
            account=account,
            name=name,
            unique_id=unique_id,
            tags=MappingProxyType(dict(tags or {})),
            org=org,
            credential=credential or Credential(),
            service_linked=service_linked,
        )

    @classmethod
    def assumed_role(
        cls,
        role_arn: str,
        session_name: str,
        *,
        role_unique_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        org: Org | None = None,
        credential: Credential | None = None,
        service_linked: bool = False,
        source_identity: str | None = None,
        federated_provider: str | None = None,
    ) -> Principal:
        """A role session; the session ARN drops the role path (R78)."""
        found = _ARN.fullmatch(role_arn)
        account = found.group("account") if found else None
        partition = found.group("partition") if found else "aws"
        role_name = role_arn.rsplit("/", 1)[-1]
        return cls(
            PrincipalType.ASSUMED_ROLE,
            arn=f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}",
            account=account,
            name=session_name,
            tags=MappingProxyType(dict(tags or {})),
            org=org,
            credential=credential or Credential(CredentialKind.ASSUME_ROLE),
            service_linked=service_linked,
            role_arn=role_arn,
            role_unique_id=role_unique_id,
            session_name=session_name,
            source_identity=source_identity,
            federated_provider=federated_provider,
        )

    @classmethod
    def federated_user(
        cls,
        arn: str,
        federating_user_arn: str | None = None,
        *,
        tags: Mapping[str, str] | None = None,
        org: Org | None = None,
        credential: Credential | None = None,
    ) -> Principal:
        """A ``GetFederationToken`` session (``arn:aws:sts::ACCT:federated-user/NAME``)."""
        found = _ARN.fullmatch(arn)
        return cls(
            PrincipalType.FEDERATED_USER,
            arn=arn,
            account=found.group("account") if found else None,
            name=arn.rsplit("/", 1)[-1],
            tags=MappingProxyType(dict(tags or {})),
            org=org,
            credential=credential or Credential(CredentialKind.GET_FEDERATION_TOKEN),
            federating_user_arn=federating_user_arn,
        )

    @classmethod
    def root(
        cls, account: str, *, org: Org | None = None, credential: Credential | None = None
    ) -> Principal:
        """The root user of an account."""
        return cls(
            PrincipalType.ROOT,
            arn=_root_arn(account),
            account=account,
            org=org,
            credential=credential or Credential(),
        )

    @classmethod
    def anonymous(cls) -> Principal:
        """An unsigned request."""
        return cls(PrincipalType.ANONYMOUS)

    @classmethod
    def aws_service(cls, service: str) -> Principal:
        """A service principal acting in its own name (``ec2.amazonaws.com``)."""
        return cls(PrincipalType.SERVICE, service=service)

    @classmethod
    def web_identity(cls, provider: str) -> Principal:
        """The unsigned caller of ``AssumeRoleWithWebIdentity`` with a token from ``provider``."""
        return cls(PrincipalType.WEB_IDENTITY, provider=provider)

    @classmethod
    def saml(cls, provider: str) -> Principal:
        """The unsigned caller of ``AssumeRoleWithSAML`` with a SAML provider ARN."""
        return cls(PrincipalType.SAML, provider=provider)

    @classmethod
    def from_arn(cls, arn: str) -> Principal:
        """Infer the type from an ARN; a role ARN means a session of that role."""
        found = _ARN.fullmatch(arn)
        if found is None:
            if re.fullmatch(r"\d{12}", arn):
                return cls.root(arn)
            if arn.endswith((".amazonaws.com", ".amazonaws.com.cn")):
                return cls.aws_service(arn)
            if arn in ("*", "anonymous"):
                return cls.anonymous()
            raise ValueError(f"cannot infer a principal from {arn!r}")
        account, rest = found.group("account"), found.group("rest")
        if rest == "root":
            return cls.root(account)
        if rest.startswith("user/"):
            return cls.iam_user(arn)
        if rest.startswith("role/"):
            return cls.assumed_role(arn, "session")
        if rest.startswith("assumed-role/") and rest.count("/") == 2:
            _, role, session = rest.split("/")
            role_arn = f"arn:{found.group('partition')}:iam::{account}:role/{role}"
            return cls.assumed_role(role_arn, session)
        if rest.startswith("federated-user/"):
            return cls.federated_user(arn)
        raise ValueError(f"cannot infer a principal from {arn!r}")
