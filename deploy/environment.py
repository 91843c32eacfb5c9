"""``iam-planes env`` and ``run``: the environment that points any SDK or tool at the emulator.

The endpoints are botocore's own environment variables: ``AWS_ENDPOINT_URL`` for every service
(the region's shared port), and per-service ones where a service lives elsewhere (IAM and
Organizations on the control plane; STS on the region's port). ``--as`` picks who the
credentials belong to: the account's root, a user (created with an access key on first use), or
a role (created on first use and assumed through a helper user, since root may not assume
roles). Whatever it creates, it waits for: the credentials are handed out only once every live
replica of the region has applied the change, so the first call made with them is not a race.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from deploy.applied import version_of, wait_until_applied
from deploy.cluster_file import ClusterFile

__all__ = [
    "FORMATS",
    "UNSET",
    "Credentials",
    "applied_to",
    "credentials_as",
    "environment",
    "parse_identity",
    "render",
    "root_credentials",
]

FORMATS = ("sh", "fish", "json", "dotenv")
#: variables that would point boto3 or the CLI elsewhere, or mix other credentials in
UNSET = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
IDENTITIES_FILE = "identities.json"
ASSUMER = "iam-planes-assumer"
_CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=30)


@dataclass(frozen=True)
class Credentials:
    """An access key (and a session token for a role's session) and whose it is."""

    account: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


def parse_identity(text: str) -> tuple[str, str | None]:
    """``root``, ``user/NAME`` or ``role/NAME`` as (kind, name); ValueError otherwise."""
    if text == "root":
        return "root", None
    kind, _, name = text.partition("/")
    if kind not in ("user", "role") or not name or "/" in name:
        raise ValueError(f"--as must be root, user/NAME or role/NAME, not {text!r}")
    return kind, name


def _client(service: str, endpoint: str, region: str, key: Credentials) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        aws_session_token=key.session_token,
        config=_CLIENT_CONFIG,
    )


def _exists(call: Any, **params: str) -> bool:
    try:
        call(**params)
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return False
        raise
    return True


def _new_user_key(iam: Any, root: Credentials, name: str) -> tuple[Credentials, int]:
    """A new access key for user ``name`` (made first if missing) and the version it is at."""
    if not _exists(iam.get_user, UserName=name):
        iam.create_user(UserName=name)
    created = iam.create_access_key(UserName=name)
    key = created["AccessKey"]
    fresh = Credentials(root.account, key["AccessKeyId"], key["SecretAccessKey"])
    return fresh, version_of(created)


def _ensure_role(iam: Any, account: str, name: str) -> int:
    """Create role ``name`` (trusting the account, with AdministratorAccess) unless it exists."""
    if _exists(iam.get_role, RoleName=name):
        return 0
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    attached = iam.attach_role_policy(
        RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    return version_of(attached)


def _grant_assume(iam: Any) -> int:
    granted = iam.put_user_policy(
        UserName=ASSUMER,
        PolicyName="assume-any-role",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            }
        ),
    )
    return version_of(granted)


class _Cache:
    """Access keys made by earlier ``--as`` runs, so each user gets one key, not one a run."""

    def __init__(self, state_dir: Path | None) -> None:
        self._path = None if state_dir is None else state_dir / IDENTITIES_FILE

    def _load(self) -> dict[str, Any]:
        if self._path is None or not self._path.exists():
            return {}
        loaded: dict[str, Any] = json.loads(self._path.read_text())
        return loaded

    def get(self, account: str, user: str) -> Credentials | None:
        found = self._load().get(f"{account}/{user}")
        return None if found is None else Credentials(**found)

    def put(self, user: str, key: Credentials) -> None:
        if self._path is None:
            return
        known = self._load()
        known[f"{key.account}/{user}"] = {
            "account": key.account,
            "access_key_id": key.access_key_id,
            "secret_access_key": key.secret_access_key,
        }
        temporary = self._path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:  # secrets: readable by the owner only
            json.dump(known, handle)
        os.replace(temporary, self._path)


def _user_key(iam: Any, root: Credentials, name: str, cache: _Cache) -> tuple[Credentials, int]:
    cached = cache.get(root.account, name)
    if cached is not None and _exists(iam.get_user, UserName=name):
        keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        if any(k["AccessKeyId"] == cached.access_key_id for k in keys):
            return cached, 0  # still the user's: applied by an earlier run
    key, version = _new_user_key(iam, root, name)
    cache.put(name, key)
    return key, version


def credentials_as(
    cluster: ClusterFile,
    identity: str,
    region: str,
    root: Credentials,
    *,
    state_dir: Path | None = None,
    timeout: float = 120,
) -> Credentials:
    """Credentials of ``identity`` in ``root``'s account, usable in ``region`` at once: whatever
    had to be created is applied by every live replica there before this returns."""
    kind, name = parse_identity(identity)
    if kind == "root" or name is None:
        return root
    cache = _Cache(state_dir)
    iam = _client("iam", cluster.controlplane.endpoint, "us-east-1", root)
    if kind == "user":
        key, version = _user_key(iam, root, name, cache)
        wait_until_applied(cluster, version, [region], timeout)
        return key
    role_version = _ensure_role(iam, root.account, name)
    assumer, key_version = _user_key(iam, root, ASSUMER, cache)
    wait_until_applied(
        cluster, max(role_version, key_version, _grant_assume(iam)), [region], timeout
    )
    sts = _client("sts", cluster.regions[region].endpoint, region, assumer)
    session = sts.assume_role(
        RoleArn=f"arn:aws:iam::{root.account}:role/{name}", RoleSessionName="iam-planes"
    )["Credentials"]
    return Credentials(
        root.account, session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
    )


def root_credentials(cluster: ClusterFile) -> Credentials:
    """The root key of the account the launcher created."""
    account, found = next(iter(cluster.accounts.items()))
    return Credentials(account, found.root.access_key_id, found.root.secret_access_key)


def environment(cluster: ClusterFile, region: str, key: Credentials) -> dict[str, str]:
    """The variables to set (``UNSET`` lists those to remove)."""
    if region not in cluster.regions:
        raise ValueError(f"no region {region!r} in the cluster: {', '.join(cluster.regions)}")
    regional = cluster.regions[region].endpoint
    variables = {
        "AWS_ENDPOINT_URL": regional,
        "AWS_ENDPOINT_URL_IAM": cluster.controlplane.endpoint,
        "AWS_ENDPOINT_URL_ORGANIZATIONS": cluster.controlplane.endpoint,
        "AWS_ENDPOINT_URL_STS": regional,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
        "IAM_PLANES_ACCOUNT": key.account,
    }
    if key.session_token is not None:
        variables["AWS_SESSION_TOKEN"] = key.session_token
    return variables


def render(variables: Mapping[str, str], form: str) -> str:
    """The variables as a script for ``sh`` or ``fish``, a JSON object, or a dotenv file."""
    removed = [name for name in UNSET if name not in variables]
    if form == "sh":
        lines = [f"export {k}={shlex.quote(v)}" for k, v in variables.items()]
        lines += [f"unset {name}" for name in removed]
    elif form == "fish":
        lines = [f"set -gx {k} {shlex.quote(v)}" for k, v in variables.items()]
        lines += [f"set -e {name}" for name in removed]
    elif form == "json":
        unset: dict[str, str | None] = dict.fromkeys(removed)
        return json.dumps({**variables, **unset}, indent=2)
    elif form == "dotenv":
        lines = [f"{k}={json.dumps(v)}" for k, v in variables.items()]
    else:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}")
    return "\n".join(lines)


def applied_to(current: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    """``current`` (os.environ) with ``variables`` set, and the ``UNSET`` names and any other
    service's endpoint (``AWS_ENDPOINT_URL_*``, which would win over ours) removed."""
    result = {
        k: v for k, v in current.items() if k not in UNSET and not k.startswith("AWS_ENDPOINT_URL")
    }
    result.update(variables)
    return result
