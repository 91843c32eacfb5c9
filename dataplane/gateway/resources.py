"""The resource ARNs a call acts on, filled into the ARN formats of AWS's service authorization
reference from the request's parameters (bucket and key, queue URL, table, key id, ...).

A parameter that is itself an ARN (or a queue URL) names its account: that account owns the
resource. A bare name (a table, a key id, a secret name) names a resource of the caller's own
account, as it does in AWS. S3 bucket names name no account: their owner comes from
:mod:`dataplane.gateway.owners`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from awswire.errors import AwsError
from dataplane.gateway.actions import arn_format, iam_prefix, resource_types
from dataplane.gateway.routing import ServiceCall

__all__ = ["MAPPED_SERVICES", "Target", "named_account", "targets"]

_VARIABLE = re.compile(r"\$\{([A-Za-z]+)\}")
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True, slots=True)
class Target:
    """One (action, resource ARN) pair the call must be allowed."""

    action: str
    resource: str


Variables = dict[str, str]
#: service -> (call, action's resource types) -> [(resource type, its variables)]
_Builder = Callable[[ServiceCall, tuple[str, ...]], list[tuple[str, Variables]]]


def _arn_parts(value: str) -> list[str] | None:
    parts = value.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def _s3(call: ServiceCall, types: tuple[str, ...]) -> list[tuple[str, Variables]]:
    bucket = call.params.get("Bucket")
    key = call.params.get("Key")
    if bucket and key is not None and "object" in types:
        return [("object", {"BucketName": bucket, "ObjectName": key})]
    if bucket and "bucket" in types:
        return [("bucket", {"BucketName": bucket})]
    if bucket and "object" in types:  # DeleteObjects: the keys are in the body, any key
        return [("object", {"BucketName": bucket, "ObjectName": "*"})]
    return []


def _queue_url(url: str) -> Variables:
    path = [p for p in urlsplit(url).path.split("/") if p]
    if len(path) < 2 or not _ACCOUNT.match(path[-2]):
        raise AwsError(
            "AWS.SimpleQueueService.NonExistentQueue",
            "The specified queue does not exist for this wsdl version.",
            400,
        )
    return {"QueueName": unquote(path[-1]), "Account": path[-2]}


def _sqs(call: ServiceCall, types: tuple[str, ...]) -> list[tuple[str, Variables]]:
    if "queue" not in types:
        return []
    url = call.params.get("QueueUrl")
    if isinstance(url, str):
        return [("queue", _queue_url(url))]
    name = call.params.get("QueueName")
    if isinstance(name, str):
        owner = call.params.get("QueueOwnerAWSAccountId")
        return [("queue", {"QueueName": name, **({"Account": owner} if owner else {})})]
    return []


def _named(value: str, variable: str, marker: str) -> Variables:
    """A bare name, or the name inside an ARN (its account too)."""
    parts = _arn_parts(value)
    if parts is None:
        return {variable: value}
    name = parts[5].split(marker, 1)[1] if marker in parts[5] else parts[5]
    return {variable: name, "Account": parts[4], "Region": parts[3]}


def _dynamodb(call: ServiceCall, types: tuple[str, ...]) -> list[tuple[str, Variables]]:
    tables: list[str] = []
    table = call.params.get("TableName")
    if isinstance(table, str):
        tables.append(table)
    items = call.params.get("RequestItems")
    if isinstance(items, dict):  # BatchGetItem, BatchWriteItem: every table they name
        tables.extend(str(name) for name in items)
    found = []
    index = call.params.get("IndexName")
    for name in tables:
        variables = _named(name, "TableName", "table/")
        if isinstance(index, str) and "index" in types:
            found.append(("index", {**variables, "IndexName": index}))
        elif "table" in types:
            found.append(("table", variables))
    return found


def _kms(call: ServiceCall, types: tuple[str, ...]) -> list[tuple[str, Variables]]:
    key = call.params.get("KeyId") or call.params.get("SourceKeyId")
    if not isinstance(key, str) or "key" not in types:
        return []
    if key.startswith("alias/"):
        # AWS authorizes an alias's use on the key it names; without asking the backend the
        # gateway cannot resolve it, so it authorizes on the alias's own ARN
        return [("alias", {"Alias": key.removeprefix("alias/")})]
    variables = _named(key, "KeyId", "key/")
    if variables.get("KeyId", "").startswith("alias/"):
        return [("alias", {"Alias": variables["KeyId"].removeprefix("alias/"), **variables})]
    return [("key", variables)]


def _sns(call: ServiceCall, types: tuple[str, ...]) -> list[tuple[str, Variables]]:
    if "topic" not in types:
        return []
    arn = call.params.get("TopicArn") or call.params.get("TargetArn")
    if isinstance(arn, str):
        return [("topic", _named(arn, "TopicName", "\0"))]
    name = call.params.get("Name")
    return [("topic", {"TopicName": name})] if isinstance(name, str) else []


def _secretsmanager(call: ServiceCall, types: tuple[str, ...]) -> list[tuple[str, Variables]]:
    if "Secret" not in types:
        return []
    secret = call.params.get("SecretId") or call.params.get("Name")
    if not isinstance(secret, str):
        return []
    return [("Secret", _named(secret, "SecretId", "secret:"))]


def _ssm(call: ServiceCall, types: tuple[str, ...]) -> list[tuple[str, Variables]]:
    if "parameter" not in types:
        return []
    names: list[str] = []
    for member in ("Name", "Path"):
        value = call.params.get(member)
        if isinstance(value, str):
            names.append(value)
    listed = call.params.get("Names")
    if isinstance(listed, list):
        names.extend(str(n) for n in listed)
    found = []
    for name in names:
        variables = _named(name, "ParameterNameWithoutLeadingSlash", "parameter/")
        variables["ParameterNameWithoutLeadingSlash"] = variables[
            "ParameterNameWithoutLeadingSlash"
        ].lstrip("/")
        found.append(("parameter", variables))
    return found


def _logs(call: ServiceCall, types: tuple[str, ...]) -> list[tuple[str, Variables]]:
    group = call.params.get("logGroupName") or call.params.get("logGroupIdentifier")
    stream = call.params.get("logStreamName")
    if not isinstance(group, str):
        return []
    variables = _named(group, "LogGroupName", "log-group:")
    variables["LogGroupName"] = variables["LogGroupName"].removesuffix(":*")
    if "log-stream" in types:
        return [("log-stream", {**variables, "LogStreamName": str(stream or "*")})]
    return [("log-group", variables)] if "log-group" in types else []


def _lambda(call: ServiceCall, types: tuple[str, ...]) -> list[tuple[str, Variables]]:
    name = call.params.get("FunctionName")
    if not isinstance(name, str) or "function" not in types:
        return []
    variables = _named(name, "FunctionName", "function:")
    variables["FunctionName"] = variables["FunctionName"].split(":", 1)[0]  # drop a qualifier
    return [("function", variables)]


_BUILDERS: Mapping[str, _Builder] = {
    "s3": _s3,
    "sqs": _sqs,
    "dynamodb": _dynamodb,
    "kms": _kms,
    "sns": _sns,
    "secretsmanager": _secretsmanager,
    "ssm": _ssm,
    "logs": _logs,
    "lambda": _lambda,
}
MAPPED_SERVICES = tuple(_BUILDERS)


def _fill(template: str, variables: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return variables.get(match.group(1), "*")

    return _VARIABLE.sub(value, template)


def named_account(call: ServiceCall, actions: tuple[str, ...]) -> str | None:
    """The account a parameter of the call names (an ARN's, a queue URL's), if any."""
    builder = _BUILDERS.get(call.service)
    if builder is None:
        return None
    for action in actions:
        types = tuple(name for name, _ in resource_types(action))
        for _, variables in builder(call, types):
            if "Account" in variables:
                return variables["Account"]
    return None


def targets(call: ServiceCall, actions: tuple[str, ...], region: str, account: str) -> list[Target]:
    """Every (action, resource ARN) the call needs, ``account`` filling ARNs whose parameters
    name none. A required resource the gateway cannot build refuses the call."""
    found: list[Target] = []
    prefix = iam_prefix(call)
    defaults = {"Partition": "aws", "Region": region, "Account": account}
    builder = _BUILDERS.get(call.service)
    for action in actions:
        types = resource_types(action)
        built = builder(call, tuple(name for name, _ in types)) if builder is not None else []
        if built:
            for resource_type, variables in built:
                found.append(
                    Target(action, _fill(arn_format(prefix, resource_type), defaults | variables))
                )
        elif any(required for _, required in types):
            raise AwsError(
                "AccessDeniedException",
                f"iam-planes cannot name the resource {call.service} operation "
                f"{call.operation} acts on, so it refuses the call rather than forward it.",
                400,
            )
        else:
            found.append(Target(action, "*"))
    return found
