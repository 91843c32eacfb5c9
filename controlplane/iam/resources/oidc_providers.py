"""OpenID Connect identity providers: Create/Get/List/Delete, client IDs, thumbprints, tags.

Emulator extension: AWS fetches an OIDC issuer's signing keys (JWKS) over the network; here
they are given as tags ``iam-planes:jwks:0`` .. ``iam-planes:jwks:N`` whose values, joined
in order, are the base64url-encoded JWKS JSON (tag values hold at most 256 characters). On
CreateOpenIDConnectProvider or TagOpenIDConnectProvider the chunks are joined, checked and
stored as ``OidcProvider.jwks`` (not as tags), replicating as an ``oidc_provider.put``.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
)
from controlplane.iam.support.errors import (
    entity_already_exists,
    invalid_input,
    no_such_entity,
)
from controlplane.iam.support.tags import (
    merged_tags,
    tag_handlers,
    tag_shapes,
    tags_member,
    tags_of,
)
from replication.arns import oidc_provider_arn, parse_iam_arn
from replication.entities import EntityKey, OidcProvider, Tag
from replication.state import IamState

__all__ = ["JWKS_TAG_PREFIX", "OPERATIONS", "split_jwks_tags"]

JWKS_TAG_PREFIX = "iam-planes:jwks:"

CLIENT_IDS_PER_PROVIDER = 100


def _host(url: str) -> str:
    if not url.startswith("https://"):
        raise invalid_input("Invalid Url: the URL must begin with https://")
    return url.removeprefix("https://").rstrip("/")


def split_jwks_tags(tags: tuple[Tag, ...]) -> tuple[str | None, tuple[Tag, ...]]:
    """The JWKS the ``iam-planes:jwks:N`` tags carry (None if none), and the other tags."""
    chunks = {
        t.key.lower()[len(JWKS_TAG_PREFIX) :]: t.value
        for t in tags
        if t.key.lower().startswith(JWKS_TAG_PREFIX)
    }
    rest = tuple(t for t in tags if not t.key.lower().startswith(JWKS_TAG_PREFIX))
    if not chunks:
        return None, rest
    if sorted(chunks) != sorted(str(i) for i in range(len(chunks))):
        raise invalid_input(f"The {JWKS_TAG_PREFIX}N tags must be numbered 0..N without gaps.")
    text = "".join(chunks[str(i)] for i in range(len(chunks)))
    try:
        jwks = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise invalid_input(f"The {JWKS_TAG_PREFIX}N tags are not base64url JSON.") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise invalid_input("The JWKS must be a JSON object with a 'keys' array.")
    return json.dumps(jwks, separators=(",", ":")), rest


def _require_oidc(state: IamState, caller: Requester, arn: str) -> OidcProvider:
    parsed = parse_iam_arn(arn)
    provider = None
    if parsed is not None and parsed[1] == "oidc-provider" and parsed[0] == caller.account:
        provider = state.oidc_providers.get((caller.account, arn.split("oidc-provider/", 1)[1]))
    if provider is None:
        raise no_such_entity(f"OpenIDConnect Provider not found for arn {arn}")
    return provider


def _oidc_resource(state: IamState, params: Params, caller: Requester) -> str:
    if "OpenIDConnectProviderArn" in params:
        return str(params["OpenIDConnectProviderArn"])
    return oidc_provider_arn(caller.account, str(params["Url"]).removeprefix("https://"))


def create_oidc_provider(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateOpenIDConnectProvider: one provider per URL per account."""
    host = _host(params["Url"])
    if (caller.account, host) in state.oidc_providers:
        raise entity_already_exists(f"Provider with url https://{host} already exists.")
    jwks, tags = split_jwks_tags(tags_of(params))
    provider = OidcProvider(
        account=caller.account,
        url=host,
        client_ids=tuple(dict.fromkeys(params.get("ClientIDList", []))),
        thumbprints=tuple(params.get("ThumbprintList", [])),
        created_at=now,
        tags=tags,
        jwks=jwks,
    )
    result = {"OpenIDConnectProviderArn": provider.arn, **tags_member(provider.tags)}
    return HandlerResult(result, Change.put(provider))


def get_oidc_provider(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetOpenIDConnectProvider: URL (without the scheme), client IDs, thumbprints."""
    provider = _require_oidc(state, caller, params["OpenIDConnectProviderArn"])
    return HandlerResult(
        {
            "Url": provider.url,
            "ClientIDList": list(provider.client_ids),
            "ThumbprintList": list(provider.thumbprints),
            "CreateDate": provider.created_at,
            "Tags": tag_shapes(provider.tags),
        }
    )


def list_oidc_providers(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListOpenIDConnectProviders: the ARNs of the account's providers."""
    found = sorted(p.arn for (acct, _), p in state.oidc_providers.items() if acct == caller.account)
    return HandlerResult({"OpenIDConnectProviderList": [{"Arn": arn} for arn in found]})


def delete_oidc_provider(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteOpenIDConnectProvider."""
    provider = _require_oidc(state, caller, params["OpenIDConnectProviderArn"])
    key = EntityKey(entity="oidc_provider", account=caller.account, name=provider.url)
    return HandlerResult({}, Change.delete(key))


def _oidc_update(
    state: IamState, params: Params, caller: Requester, **update: Any
) -> HandlerResult:
    provider = _require_oidc(state, caller, params["OpenIDConnectProviderArn"])
    changed = provider.model_copy(update=update)
    return HandlerResult({}, Change.put(changed))


def add_client_id(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """AddClientIDToOpenIDConnectProvider: idempotent; at most 100 client IDs."""
    provider = _require_oidc(state, caller, params["OpenIDConnectProviderArn"])
    client_ids = tuple(dict.fromkeys((*provider.client_ids, params["ClientID"])))
    if len(client_ids) > CLIENT_IDS_PER_PROVIDER:
        raise invalid_input("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100")
    return _oidc_update(state, params, caller, client_ids=client_ids)


def remove_client_id(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """RemoveClientIDFromOpenIDConnectProvider: idempotent."""
    provider = _require_oidc(state, caller, params["OpenIDConnectProviderArn"])
    client_ids = tuple(c for c in provider.client_ids if c != params["ClientID"])
    return _oidc_update(state, params, caller, client_ids=client_ids)


def update_thumbprints(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateOpenIDConnectProviderThumbprint: replace the whole list."""
    return _oidc_update(state, params, caller, thumbprints=tuple(params["ThumbprintList"]))


def tag_oidc_provider(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """TagOpenIDConnectProvider; ``iam-planes:jwks:N`` tags replace the stored JWKS."""
    provider = _require_oidc(state, caller, params["OpenIDConnectProviderArn"])
    jwks, added = split_jwks_tags(tags_of(params))
    tags = merged_tags(provider.tags, added, "OpenIDConnectProvider")
    update: dict[str, Any] = {"tags": tags} if jwks is None else {"tags": tags, "jwks": jwks}
    return _oidc_update(state, params, caller, **update)


def _oidc_getter(state: IamState, params: Params, caller: Requester) -> OidcProvider:
    return _require_oidc(state, caller, params["OpenIDConnectProviderArn"])


def _any_oidc(state: IamState, params: Params, caller: Requester) -> str:
    return oidc_provider_arn(caller.account, "*")


_oidc_tags = tag_handlers("OpenIDConnectProvider", _oidc_getter)

OPERATIONS = (
    Operation(
        "CreateOpenIDConnectProvider",
        create_oidc_provider,
        _oidc_resource,
        OperationKind.WRITE,
    ),
    Operation("GetOpenIDConnectProvider", get_oidc_provider, _oidc_resource, OperationKind.READ),
    Operation("ListOpenIDConnectProviders", list_oidc_providers, _any_oidc, OperationKind.READ),
    Operation(
        "DeleteOpenIDConnectProvider",
        delete_oidc_provider,
        _oidc_resource,
        OperationKind.WRITE,
    ),
    Operation(
        "AddClientIDToOpenIDConnectProvider",
        add_client_id,
        _oidc_resource,
        OperationKind.WRITE,
    ),
    Operation(
        "RemoveClientIDFromOpenIDConnectProvider",
        remove_client_id,
        _oidc_resource,
        OperationKind.WRITE,
    ),
    Operation(
        "UpdateOpenIDConnectProviderThumbprint",
        update_thumbprints,
        _oidc_resource,
        OperationKind.WRITE,
    ),
    Operation("TagOpenIDConnectProvider", tag_oidc_provider, _oidc_resource, OperationKind.WRITE),
    Operation(
        "UntagOpenIDConnectProvider",
        _oidc_tags.untag,
        _oidc_resource,
        OperationKind.WRITE,
    ),
    Operation(
        "ListOpenIDConnectProviderTags",
        _oidc_tags.list_tags,
        _oidc_resource,
        OperationKind.READ,
    ),
)
