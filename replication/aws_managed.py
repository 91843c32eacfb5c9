"""The catalogue of AWS managed policies (``arn:aws:iam::aws:policy/...``).

They exist in every account without being created, cannot be changed, and are attached like
customer managed policies. The data lives in ``aws_managed_policies.json`` next to this module
(shipped as package data): each entry carries AWS's policy id, path, description, dates, default
version id and that version's exact document, as the AWS Managed Policy Reference Guide shows
them. Only the default version is kept, under its real version id; an entry marked ``abridged``
keeps the shape of a document too large to carry whole.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from typing import Any

import orjson

from replication.entities import ManagedPolicy, PolicyVersion

__all__ = ["AWS_MANAGED_POLICIES", "aws_managed_policy"]

_DATA_FILE = "aws_managed_policies.json"
_ARN_PREFIX = "arn:aws:iam::aws:policy/"


def _policy(entry: dict[str, Any]) -> ManagedPolicy:
    created = datetime.fromisoformat(entry["create_date"])
    updated = datetime.fromisoformat(entry["update_date"])
    version_id: str = entry["default_version_id"]
    return ManagedPolicy(
        account="aws",
        name=entry["name"],
        path=entry["path"],
        policy_id=entry["policy_id"],
        description=entry["description"],
        created_at=created,
        updated_at=updated,
        default_version=version_id,
        # versions are numbered v1, v2...: the next one AWS would publish (never by a user)
        next_version=int(version_id.removeprefix("v")) + 1,
        versions=(
            PolicyVersion(
                version_id=version_id,
                # compact, keys in AWS's order: what GetPolicyVersion hands back
                document=orjson.dumps(entry["document"]).decode(),
                # a policy's update date is its default version's creation date
                created_at=updated,
            ),
        ),
    )


def _load() -> dict[str, ManagedPolicy]:
    raw = orjson.loads(files(__package__ or "replication").joinpath(_DATA_FILE).read_bytes())
    return {entry["name"]: _policy(entry) for entry in raw["policies"]}


AWS_MANAGED_POLICIES: dict[str, ManagedPolicy] = _load()
"""The catalogue by policy name (names are unique across AWS managed policies)."""

_BY_ARN: dict[str, ManagedPolicy] = {p.arn: p for p in AWS_MANAGED_POLICIES.values()}


def aws_managed_policy(arn: str) -> ManagedPolicy | None:
    """The AWS managed policy with that exact ARN (path included), if the catalogue has it."""
    if not arn.startswith(_ARN_PREFIX):
        return None
    return _BY_ARN.get(arn)
