"""Principal and NotPrincipal compiled into match-level tests (docs/evaluation.md R18-R23)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dataplane.evaluation._model import Level, PrincipalType
from dataplane.evaluation._principal import Principal

__all__ = ["CompiledPrincipal", "compile_principal"]

_ROOT_ARN = re.compile(r"arn:[^:]+:iam::(\d{12}):root")
_ACCOUNT = re.compile(r"\d{12}")
_UNSIGNED = (PrincipalType.WEB_IDENTITY, PrincipalType.SAML)


@dataclass(frozen=True, slots=True)
class CompiledPrincipal:
    """The values of a Principal/NotPrincipal element, grouped for set tests."""

    star: bool
    aws: frozenset[str]
    accounts: frozenset[str]
    federated: frozenset[str]
    services: frozenset[str]
    listed: frozenset[str]

    def level(self, principal: Principal) -> Level:
        """The closest level at which this element names the caller (R18); NONE if it does not."""
        if self.star:
            return Level.DIRECT  # "*" names everyone, anonymous included
        kind = principal.type
        if kind is PrincipalType.SERVICE:
            return Level.DIRECT if principal.service in self.services else Level.NONE
        if kind in _UNSIGNED:
            return Level.DIRECT if principal.provider in self.federated else Level.NONE
        if not self.aws.isdisjoint(principal.direct_ids):
            return Level.DIRECT
        if not self.aws.isdisjoint(principal.parent_ids):
            return Level.PARENT
        if principal.account is not None and principal.account in self.accounts:
            return Level.ACCOUNT
        return Level.NONE

    def excludes(self, principal: Principal) -> bool:
        """NotPrincipal: the caller is excluded only if its whole chain is listed (R21)."""
        if self.star:
            return True
        return all(not link.isdisjoint(self.listed) for link in principal.chain)


def compile_principal(element: Mapping[str, tuple[str, ...]]) -> CompiledPrincipal:
    """Group a normalised Principal element by key; accounts from IDs and root ARNs (R19)."""
    aws = frozenset(element.get("AWS", ()))
    accounts = {value for value in aws if _ACCOUNT.fullmatch(value)}
    accounts.update(m.group(1) for value in aws if (m := _ROOT_ARN.fullmatch(value)))
    federated = frozenset(element.get("Federated", ()))
    services = frozenset(element.get("Service", ()))
    return CompiledPrincipal(
        star="*" in aws,
        aws=aws,
        accounts=frozenset(accounts),
        federated=federated,
        services=services,
        listed=aws | federated | services,
    )
