"""A resource's own policy, read from the services backend and kept briefly.

S3 bucket policies, SQS queue policies, SNS topic policies, KMS key policies, Secrets Manager
resource policies and Lambda function policies are stored where the resource is, in the
backend, so the gateway asks for them there. An answer is kept ``ttl`` seconds: a policy put
through another replica reaches this one within that time (put through this one: at once).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote
from xml.etree import ElementTree

import orjson

from dataplane.gateway.forward import Backend, BackendAnswer
from dataplane.gateway.routing import ServiceCall

__all__ = ["POLICY_WRITES", "ResourcePolicies", "policy_key"]

DEFAULT_TTL = 2.0
_CACHE_LIMIT = 10_000
#: operations that change a resource's policy (or delete the resource): their key is dropped
POLICY_WRITES = frozenset(
    {
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "DeleteBucket",
        "SetQueueAttributes",
        "DeleteQueue",
        "SetTopicAttributes",
        "DeleteTopic",
        "PutKeyPolicy",
        "PutResourcePolicy",
        "DeleteResourcePolicy",
        "DeleteSecret",
        "AddPermission",
        "RemovePermission",
        "DeleteFunction",
    }
)
_JSON_11 = "application/x-amz-json-1.1"


def policy_key(call: ServiceCall) -> str | None:
    """What names the resource whose policy applies to ``call`` (None: no such policy)."""
    params = call.params
    found: object = None
    if call.service == "s3":
        found = params.get("Bucket")
    elif call.service == "sqs":
        found = params.get("QueueUrl")
    elif call.service == "sns":
        found = params.get("TopicArn")
    elif call.service == "kms" and call.operation != "CreateKey":
        found = params.get("KeyId")
    elif call.service == "secretsmanager" and call.operation != "CreateSecret":
        found = params.get("SecretId")
    elif call.service == "lambda" and call.operation != "CreateFunction":
        found = params.get("FunctionName")
    return found if isinstance(found, str) and found else None


def _from_json(body: bytes, member: str) -> str | None:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    if member == "Attributes.Policy":
        value = (document.get("Attributes") or {}).get("Policy")
    else:
        value = document.get(member)
    return value if isinstance(value, str) and value else None


def _sns_policy(body: bytes) -> str | None:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    for entry in root.iter():
        if entry.tag.endswith("entry"):
            key = next((c.text for c in entry if c.tag.endswith("key")), None)
            if key == "Policy":
                return next((c.text for c in entry if c.tag.endswith("value")), None)
    return None


class ResourcePolicies:
    """Reads resources' policies from the backend, each kept ``ttl`` seconds."""

    def __init__(
        self,
        backend: Backend,
        region: str,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backend = backend
        self._region = region
        self._ttl = ttl
        self._clock = clock
        self._kept: dict[tuple[str, str, str], tuple[float, str | None]] = {}

    def forget(self, call: ServiceCall, account: str) -> None:
        """Drop what is kept for the resource ``call`` names (its policy just changed)."""
        key = policy_key(call)
        if key is not None:
            self._kept.pop((call.service, account, key), None)

    async def policy(self, call: ServiceCall, account: str) -> str | None:
        """The policy document of the resource ``call`` acts on, in ``account`` (None: it has
        none, the resource does not exist, or the service has no resource policies)."""
        key = policy_key(call)
        if key is None:
            return None
        cache_key = (call.service, account, key)
        kept = self._kept.get(cache_key)
        now = self._clock()
        if kept is not None and kept[0] > now:
            return kept[1]
        document = await self._fetch(call.service, key, account)
        if len(self._kept) > _CACHE_LIMIT:
            self._kept.clear()
        self._kept[cache_key] = (now + self._ttl, document)
        return document

    async def _fetch(self, service: str, key: str, account: str) -> str | None:
        return await _FETCHERS[service](_Asker(self._backend, self._region, service, account), key)


class _Asker:
    """Requests of the gateway's own to the backend, scoped (as moto reads it from the
    credential scope) to the replica's region and the resource's account."""

    def __init__(self, backend: Backend, region: str, service: str, account: str) -> None:
        self._backend = backend
        self._account = account
        self._scope = (
            f"AWS4-HMAC-SHA256 Credential=AKIAIAMPLANESGATEWAY/20200101/{region}/{service}/"
            "aws4_request, SignedHeaders=host, Signature=0"
        )

    async def ask(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> BackendAnswer:
        sent = {"Authorization": self._scope, **(headers or {})}
        return await self._backend.call(method, path, self._account, sent, body)


async def _s3(asker: _Asker, bucket: str) -> str | None:
    answer = await asker.ask("GET", f"/{quote(bucket)}?policy")
    return answer.body.decode("utf-8", "replace") if answer.status == 200 else None


async def _json(asker: _Asker, target: str, document: dict[str, object], member: str) -> str | None:
    content_type = "application/x-amz-json-1.0" if target.startswith("AmazonSQS") else _JSON_11
    headers = {"X-Amz-Target": target, "Content-Type": content_type}
    answer = await asker.ask("POST", "/", headers, orjson.dumps(document))
    return _from_json(answer.body, member) if answer.status == 200 else None


async def _sqs(asker: _Asker, url: str) -> str | None:
    document: dict[str, object] = {"QueueUrl": url, "AttributeNames": ["Policy"]}
    return await _json(asker, "AmazonSQS.GetQueueAttributes", document, "Attributes.Policy")


async def _kms(asker: _Asker, key: str) -> str | None:
    document: dict[str, object] = {"KeyId": key, "PolicyName": "default"}
    return await _json(asker, "TrentService.GetKeyPolicy", document, "Policy")


async def _secretsmanager(asker: _Asker, secret: str) -> str | None:
    document: dict[str, object] = {"SecretId": secret}
    return await _json(asker, "secretsmanager.GetResourcePolicy", document, "ResourcePolicy")


async def _sns(asker: _Asker, topic: str) -> str | None:
    form = f"Action=GetTopicAttributes&Version=2010-03-31&TopicArn={quote(topic, safe='')}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = await asker.ask("POST", "/", headers, form.encode())
    return _sns_policy(answer.body) if answer.status == 200 else None


async def _lambda(asker: _Asker, function: str) -> str | None:
    answer = await asker.ask("GET", f"/2015-03-31/functions/{quote(function, safe='')}/policy")
    return _from_json(answer.body, "Policy") if answer.status == 200 else None


_FETCHERS: dict[str, Callable[[_Asker, str], Awaitable[str | None]]] = {
    "s3": _s3,
    "sqs": _sqs,
    "sns": _sns,
    "kms": _kms,
    "secretsmanager": _secretsmanager,
    "lambda": _lambda,
}
