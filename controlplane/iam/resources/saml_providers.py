"""SAML identity providers: Create/Get/List/Update/DeleteSAMLProvider and their tags."""

from __future__ import annotations

from datetime import UTC, datetime

from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
)
from controlplane.iam.support.errors import entity_already_exists, no_such_entity
from controlplane.iam.support.named_entities import key_of
from controlplane.iam.support.tags import tag_handlers, tag_shapes, tags_member, tags_of
from replication.arns import parse_iam_arn, saml_provider_arn
from replication.entities import SamlProvider
from replication.state import IamState

__all__ = ["OPERATIONS"]

# a SAML provider's metadata carries its own expiry; without parsing XML, far in the future
_SAML_VALID_UNTIL = datetime(2125, 1, 1, tzinfo=UTC)


def _require_saml(state: IamState, caller: Requester, arn: str) -> SamlProvider:
    parsed = parse_iam_arn(arn)
    provider = None
    if parsed is not None and parsed[1] == "saml-provider" and parsed[0] == caller.account:
        provider = state.saml_providers.get((caller.account, parsed[3]))
    if provider is None:
        raise no_such_entity(f"Manifest not found for arn {arn}")
    return provider


def _saml_resource(state: IamState, params: Params, caller: Requester) -> str:
    if "SAMLProviderArn" in params:
        return str(params["SAMLProviderArn"])
    return saml_provider_arn(caller.account, params["Name"])


def create_saml_provider(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateSAMLProvider: a provider named in the account, with its metadata document."""
    name = params["Name"]
    if (caller.account, name) in state.saml_providers:
        raise entity_already_exists(f"SAMLProvider {name} already exists.")
    provider = SamlProvider(
        account=caller.account,
        name=name,
        metadata_document=params["SAMLMetadataDocument"],
        created_at=now,
        valid_until=_SAML_VALID_UNTIL,
        tags=tags_of(params),
    )
    result = {"SAMLProviderArn": provider.arn, **tags_member(provider.tags)}
    return HandlerResult(result, Change.put(provider))


def get_saml_provider(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetSAMLProvider: the metadata document and dates."""
    provider = _require_saml(state, caller, params["SAMLProviderArn"])
    return HandlerResult(
        {
            "SAMLMetadataDocument": provider.metadata_document,
            "CreateDate": provider.created_at,
            "ValidUntil": provider.valid_until,
            "Tags": tag_shapes(provider.tags),
        }
    )


def list_saml_providers(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListSAMLProviders."""
    found = sorted(
        (p for (acct, _), p in state.saml_providers.items() if acct == caller.account),
        key=lambda p: p.arn,
    )
    shapes = [
        {"Arn": p.arn, "ValidUntil": p.valid_until, "CreateDate": p.created_at} for p in found
    ]
    return HandlerResult({"SAMLProviderList": shapes})


def update_saml_provider(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateSAMLProvider: replace the metadata document."""
    provider = _require_saml(state, caller, params["SAMLProviderArn"])
    changed = provider.model_copy(update={"metadata_document": params["SAMLMetadataDocument"]})
    change = Change.put(changed)
    return HandlerResult({"SAMLProviderArn": provider.arn}, change)


def delete_saml_provider(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteSAMLProvider."""
    provider = _require_saml(state, caller, params["SAMLProviderArn"])
    return HandlerResult({}, Change.delete(key_of(provider)))


def _any_saml(state: IamState, params: Params, caller: Requester) -> str:
    return saml_provider_arn(caller.account, "*")


_saml_tags = tag_handlers("SAMLProvider", lambda s, p, c: _require_saml(s, c, p["SAMLProviderArn"]))

OPERATIONS = (
    Operation("CreateSAMLProvider", create_saml_provider, _saml_resource, OperationKind.WRITE),
    Operation("GetSAMLProvider", get_saml_provider, _saml_resource, OperationKind.READ),
    Operation("ListSAMLProviders", list_saml_providers, _any_saml, OperationKind.READ),
    Operation("UpdateSAMLProvider", update_saml_provider, _saml_resource, OperationKind.WRITE),
    Operation("DeleteSAMLProvider", delete_saml_provider, _saml_resource, OperationKind.WRITE),
    Operation("TagSAMLProvider", _saml_tags.tag, _saml_resource, OperationKind.WRITE),
    Operation("UntagSAMLProvider", _saml_tags.untag, _saml_resource, OperationKind.WRITE),
    Operation("ListSAMLProviderTags", _saml_tags.list_tags, _saml_resource, OperationKind.READ),
)
