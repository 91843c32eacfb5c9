"""Derived context keys (docs/evaluation.md R36-R39) and normalisation of the request context.

Keys are stored lower-cased (R31: key names and tag keys compare case-insensitively); values
are AWS strings or tuples of strings (multivalued keys, ``()`` = present but empty).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from dataplane.evaluation._model import PrincipalType

if TYPE_CHECKING:
    from dataplane.evaluation._principal import Principal

__all__ = [
    "ContextValue",
    "NormalisedContext",
    "context_text",
    "normalise_context",
    "principal_keys",
]

ContextValue = str | tuple[str, ...]

_PRINCIPAL_TYPE_VALUE = {
    PrincipalType.IAM_USER: "User",
    PrincipalType.ASSUMED_ROLE: "AssumedRole",
    PrincipalType.FEDERATED_USER: "FederatedUser",
    PrincipalType.ROOT: "Account",
    PrincipalType.ANONYMOUS: "Anonymous",
}


def context_text(value: Any) -> str:
    """AWS's string form of a scalar context value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return str(value)


#: lower-cased spellings of context keys seen so far (a pure function of immutable strings)
_LOWERED: dict[str, str] = {
    key: key.lower()
    for key in (
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:SourceIp",
        "aws:SecureTransport",
        "aws:RequestedRegion",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:VpcSourceIp",
        "aws:UserAgent",
        "aws:Referer",
        "aws:TagKeys",
        "aws:CalledVia",
        "aws:ViaAWSService",
        "aws:SourceArn",
        "aws:SourceAccount",
    )
}
_LOWERED_LIMIT = 4096


def _lowered(key: str) -> str:
    lowered = key.lower()
    if key.__class__ is str:  # only exact strings: a subclass may carry other behaviour
        if len(_LOWERED) >= _LOWERED_LIMIT:
            _LOWERED.clear()
        _LOWERED[key] = lowered
    return lowered


def normalise_context(raw: Mapping[str, Any]) -> dict[str, ContextValue]:
    """Lower-case the keys, stringify scalars, turn lists into tuples, drop ``None`` values."""
    result: dict[str, ContextValue] = {}
    known = _LOWERED.get
    for key, value in raw.items():
        lowered = known(key) or _lowered(key)
        if value.__class__ is str:  # the common case: a plain string value
            result[lowered] = value
        elif value is None:
            continue
        elif isinstance(value, list | tuple):
            result[lowered] = tuple(context_text(item) for item in value)
        else:
            result[lowered] = context_text(value)
    return result


class NormalisedContext(Mapping[str, ContextValue]):
    """A request context normalised once, for callers that reuse it across requests.

    Immutable: keys lower-cased, values AWS strings or tuples of strings, ``None`` dropped,
    exactly as :func:`normalise_context` gives them. A :class:`Request` built with one copies
    it instead of normalising again (e.g. the environment keys a replica builds once a second,
    R38); :meth:`merged` adds per-request keys, which win as in ``{**env, **extra}``.
    """

    __slots__ = ("_keys",)
    _keys: dict[str, ContextValue]

    def __init__(self, raw: Mapping[str, Any] | None = None) -> None:
        self._keys = normalise_context(raw) if raw else {}

    def __getitem__(self, key: str) -> ContextValue:
        return self._keys[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"NormalisedContext({self._keys!r})"

    def copy(self) -> dict[str, ContextValue]:
        """A new plain dict of the normalised keys (the per-request working copy)."""
        return self._keys.copy()

    def merged(self, extra: Mapping[str, Any]) -> NormalisedContext:
        """This context with ``extra`` (as AWS writes it) normalised and laid over it.

        The same keys as ``normalise_context({**raw, **extra})`` for the ``raw`` this context
        was built from, except that a ``None`` value in ``extra`` leaves the key as it was and
        that ``extra`` always wins (one key spelt in two cases is not replayed in dict order).
        """
        if not extra:
            return self
        merged = NormalisedContext()
        keys = self._keys.copy()
        keys.update(normalise_context(extra))
        merged._keys = keys
        return merged


def _userid(principal: Principal) -> str | None:
    match principal.type:
        case PrincipalType.IAM_USER:
            return principal.unique_id
        case PrincipalType.ASSUMED_ROLE:
            if principal.role_unique_id is None:
                return None
            return f"{principal.role_unique_id}:{principal.session_name}"
        case PrincipalType.FEDERATED_USER:
            return f"{principal.account}:{principal.name}"
        case PrincipalType.ROOT:
            return principal.account
        case PrincipalType.ANONYMOUS:
            return "anonymous"
        case _:
            return None


def _principal_arn(principal: Principal) -> str | None:
    if principal.type is PrincipalType.ASSUMED_ROLE:
        return principal.role_arn
    return principal.arn


def _credential_keys(principal: Principal, keys: dict[str, ContextValue]) -> None:
    """R37: token keys only for temporary credentials; MFA age only when MFA was used."""
    credential = principal.credential
    if credential.temporary:
        keys["aws:multifactorauthpresent"] = "true" if credential.mfa else "false"
        if credential.issued_at is not None:
            keys["aws:tokenissuetime"] = credential.issued_at
    if credential.mfa and credential.mfa_age_seconds is not None:
        keys["aws:multifactorauthage"] = str(credential.mfa_age_seconds)


def _identity_keys(principal: Principal, keys: dict[str, ContextValue]) -> None:
    for key, value in (
        ("aws:principalarn", _principal_arn(principal)),
        ("aws:principalaccount", principal.account),
        ("aws:principaltype", _PRINCIPAL_TYPE_VALUE.get(principal.type)),
        ("aws:userid", _userid(principal)),
        ("aws:sourceidentity", principal.source_identity),
        ("aws:federatedprovider", principal.federated_provider),
    ):
        if value is not None:
            keys[key] = value
    if principal.type is PrincipalType.IAM_USER and principal.name is not None:
        keys["aws:username"] = principal.name
    for tag, value in principal.tags.items():
        keys[f"aws:principaltag/{tag.lower()}"] = value


def principal_keys(principal: Principal) -> dict[str, ContextValue]:
    """The context keys the engine derives from the authenticated principal (R36, R37)."""
    keys: dict[str, ContextValue] = {}
    if principal.type in (PrincipalType.WEB_IDENTITY, PrincipalType.SAML):
        if principal.provider is not None:
            keys["aws:federatedprovider"] = principal.provider
        return keys
    if principal.type is PrincipalType.SERVICE:
        keys["aws:principalisawsservice"] = "true"
        if principal.service is not None:
            keys["aws:principalservicename"] = principal.service
        return keys
    _identity_keys(principal, keys)
    if principal.type is PrincipalType.ANONYMOUS:
        return keys
    keys["aws:principalisawsservice"] = "false"
    if principal.org is not None:
        keys["aws:principalorgid"] = principal.org.id
        if principal.org.paths:
            keys["aws:principalorgpaths"] = principal.org.paths
    _credential_keys(principal, keys)
    return keys
