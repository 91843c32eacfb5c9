"""The instance metadata service (IMDSv2) of a region: role credentials for an instance.

Emulator extension: an instance is *registered* by tagging an instance profile with
``iam-planes:instance-id`` = one or more instance IDs (space-separated); the tag replicates
like any IAM change, so a region serves the instance once the change has reached it. Each
replica (and so each regional port) serves the instance's metadata under
``/imds/INSTANCE-ID/``: point an SDK at it with
``AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT/imds/INSTANCE-ID/``.

IMDSv2 only: ``PUT latest/api/token`` (``X-aws-ec2-metadata-token-ttl-seconds`` 1-21600)
returns a session token (sealed with the token keys, bound to the instance); every ``GET``
must carry it as ``X-aws-ec2-metadata-token``. ``latest/meta-data/iam/security-credentials/``
names the profile's role and ``.../ROLE`` returns six-hour role-session credentials: session
name = instance ID, so ``aws:userid`` = ``ROLEID:INSTANCE-ID``. The role's trust policy must
allow ``ec2.amazonaws.com`` to ``sts:AssumeRole``, as in AWS.

Rotation, as AWS documents it: every fetch returns the *same* credentials (keys, token,
``LastUpdated``, ``Expiration``) until they are rotated, an hour after issue, so new ones are
available well over five minutes before the old ones expire (the old stay valid until their
own expiry). Each replica remembers what it delivered, one entry per instance, driven by the
injected clock; a different role on the profile (or the role re-created), or a trust policy
that no longer lets EC2 in, is never answered from that memory. The sessions carry the
instance's ``ec2:SourceInstanceARN`` and ``ec2:RoleDelivery`` (``2.0``: IMDSv2) context keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from dataplane.evaluation import Principal, ResourceKind, ResourceOwner, evaluate
from dataplane.identity.callers import policy_set_for
from dataplane.identity.policy_index import PolicyIndex
from dataplane.identity.requests import engine_request
from dataplane.identity.tokens import TokenError, TokenKeys
from dataplane.replica import Replica
from dataplane.sts.credentials import issue
from replication.entities import Role
from replication.policy import PolicyKind
from replication.state import IamState
from replication.trust import rendered_trust_policy

__all__ = ["CREDENTIAL_SECONDS", "INSTANCE_TAG", "ROTATION_SECONDS", "InstanceMetadata"]

INSTANCE_TAG = "iam-planes:instance-id"
CREDENTIAL_SECONDS = 6 * 3600
#: AWS refreshes instance credentials about hourly; at least five minutes before expiry
ROTATION_SECONDS = 3600
#: instances one replica remembers credentials for (bounds memory; a forgotten one is reissued)
DELIVERED_LIMIT = 10_000
ROLE_DELIVERY = "2.0"  # ec2:RoleDelivery of credentials fetched through IMDSv2
MAX_TOKEN_TTL = 21600
_PURPOSE = b"iam-planes imds token v1"
_INSTANCE_ID = re.compile(r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?")
_TOKEN_HEADER = "X-aws-ec2-metadata-token"
_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _role_of(state: IamState, instance_id: str) -> Role | None:
    """The role of the instance profile the instance is registered with, if any."""
    for profile in state.instance_profiles.values():
        registered = (t.value.split() for t in profile.tags if t.key.lower() == INSTANCE_TAG)
        if any(instance_id in ids for ids in registered) and profile.roles:
            return state.role(profile.account, profile.roles[0])
    return None


@dataclass(frozen=True, slots=True)
class _Delivered:
    """The credentials an instance was last given, and for which role, until when."""

    role_arn: str
    role_id: str
    rotate_at: float
    body: Mapping[str, str]


class InstanceMetadata:
    """Serves ``/imds/{instance}/latest/...`` from the replica's current state."""

    def __init__(
        self, replica: Replica, keys: TokenKeys, index: PolicyIndex, clock: Callable[[], float]
    ) -> None:
        self._replica, self._keys, self._index, self._clock = replica, keys, index, clock
        # instance ID -> its current credentials, oldest delivery first
        self._delivered: dict[str, _Delivered] = {}

    def routes(self) -> list[web.RouteDef]:
        """The IMDS routes, to add before the application's catch-all."""
        base = "/imds/{instance}/latest"
        return [
            web.put(base + "/api/token", self.token),
            web.get(base + "/meta-data/iam/security-credentials/", self.role_name),
            web.get(base + "/meta-data/iam/security-credentials/{role}", self.credentials),
            web.get(base + "/meta-data/instance-id", self.instance_id),
        ]

    def _instance(self, request: web.Request) -> str:
        instance = request.match_info["instance"]
        if not _INSTANCE_ID.fullmatch(instance):
            raise web.HTTPNotFound(text="Not Found")
        return instance

    async def token(self, request: web.Request) -> web.Response:
        """``PUT latest/api/token``: a session token bound to the instance, for TTL seconds."""
        instance = self._instance(request)
        ttl = request.headers.get(_TTL_HEADER, "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= MAX_TOKEN_TTL:
            raise web.HTTPBadRequest(text="Bad Request")
        claims = {"instance": instance, "expires": self._clock() + int(ttl)}
        token = self._keys.encrypt(_PURPOSE, json.dumps(claims).encode())
        return web.Response(text=token, headers={_TTL_HEADER: ttl})

    def _authorized(self, request: web.Request) -> str:
        """The instance, once the request's IMDSv2 token is valid for it (else 401)."""
        instance = self._instance(request)
        try:
            claims = json.loads(self._keys.decrypt(_PURPOSE, request.headers[_TOKEN_HEADER]))
        except (KeyError, TokenError, ValueError):
            raise web.HTTPUnauthorized(text="Unauthorized") from None
        if claims.get("instance") != instance or self._clock() >= claims.get("expires", 0):
            raise web.HTTPUnauthorized(text="Unauthorized")
        return instance

    async def instance_id(self, request: web.Request) -> web.Response:
        """``latest/meta-data/instance-id``."""
        return web.Response(text=self._authorized(request))

    async def role_name(self, request: web.Request) -> web.Response:
        """``.../security-credentials/``: the name of the instance profile's role."""
        role = _role_of(self._replica.state, self._authorized(request))
        if role is None:
            raise web.HTTPNotFound(text="Not Found")
        return web.Response(text=role.name)

    def _trusted(self, state: IamState, role: Role) -> bool:
        """Whether the role's trust policy lets ``ec2.amazonaws.com`` assume it."""
        trust_text = rendered_trust_policy(state, role)
        trust = self._index.document(trust_text, PolicyKind.TRUST, f"trust:{role.name}")
        owner = ResourceOwner(account=role.account, kind=ResourceKind.ROLE_TRUST)
        policies = policy_set_for(state, self._index, None, trust, role.account)
        service = Principal.aws_service("ec2.amazonaws.com")
        request = engine_request(service, "sts:AssumeRole", role.arn, {}, None, None, owner)
        return evaluate(request, policies).allowed

    async def credentials(self, request: web.Request) -> web.Response:
        """``.../security-credentials/ROLE``: the instance's current role-session credentials
        (the same until rotated), as IMDS's JSON."""
        instance = self._authorized(request)
        state, now = self._replica.state, self._clock()
        role = _role_of(state, instance)
        if role is None or role.name != request.match_info["role"]:
            self._delivered.pop(instance, None)
            raise web.HTTPNotFound(text="Not Found")
        if not self._trusted(state, role):
            self._delivered.pop(instance, None)
            body = {"Code": "AssumeRoleUnauthorizedAccess", "LastUpdated": _iso(now),
                    "Message": f"EC2 cannot assume the role {role.name}."}  # fmt: skip
            return web.json_response(body)
        return web.json_response(dict(self._current(instance, role, now)))

    def _current(self, instance: str, role: Role, now: float) -> Mapping[str, str]:
        """The credentials delivered for this instance and role, or new ones once due."""
        held = self._delivered.get(instance)
        if (
            held is not None
            and held.role_id == role.role_id
            and held.role_arn == role.arn
            and now < held.rotate_at
        ):
            return held.body
        body = self._issue(instance, role, now)
        delivered = _Delivered(role.arn, role.role_id, now + ROTATION_SECONDS, body)
        self._remember(instance, delivered, now)
        return body

    def _remember(self, instance: str, delivered: _Delivered, now: float) -> None:
        """Keep ``delivered`` as the instance's one entry, within ``DELIVERED_LIMIT``."""
        memory = self._delivered
        memory.pop(instance, None)  # re-inserted last: the dict stays oldest first
        if len(memory) >= DELIVERED_LIMIT:
            due = [key for key, held in memory.items() if held.rotate_at <= now]
            for key in due:
                del memory[key]
            while len(memory) >= DELIVERED_LIMIT:
                del memory[next(iter(memory))]
        memory[instance] = delivered

    def _issue(self, instance: str, role: Role, now: float) -> Mapping[str, str]:
        """New six-hour credentials for the instance's role session."""
        region = self._replica.identity.region
        claims, credentials = issue(
            self._keys, role.account, now, CREDENTIAL_SECONDS, kind="InstanceProfile",
            role_arn=role.arn, role_id=role.role_id, session_name=instance,
            issuer_chain=("ec2.amazonaws.com",),
            source_instance_arn=f"arn:aws:ec2:{region}:{role.account}:instance/{instance}",
            role_delivery=ROLE_DELIVERY,
        )  # fmt: skip
        return {
            "Code": "Success",
            "LastUpdated": _iso(claims.issued_at),
            "Type": "AWS-HMAC",
            "AccessKeyId": credentials["AccessKeyId"],
            "SecretAccessKey": credentials["SecretAccessKey"],
            "Token": credentials["SessionToken"],
            "Expiration": _iso(claims.expires_at),
        }
