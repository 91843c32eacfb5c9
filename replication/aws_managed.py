"""A small catalogue of AWS managed policies (``arn:aws:iam::aws:policy/...``).

They exist in every account without being created, cannot be changed, and are attached like
customer managed policies. The documents are the current default versions, abridged where
AWS's own run to hundreds of actions (the read-only ones keep their shape: Get/List/Describe).
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from replication.entities import ManagedPolicy, PolicyVersion

__all__ = ["AWS_MANAGED_POLICIES", "aws_managed_policy"]

_PUBLISHED = datetime(2015, 2, 6, 18, 39, 46, tzinfo=UTC)


def _document(*statements: dict[str, object]) -> str:
    return orjson.dumps({"Version": "2012-10-17", "Statement": list(statements)}).decode()


def _allow(action: str | list[str], resource: str = "*") -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


_DOCUMENTS: dict[str, tuple[str, str]] = {
    "AdministratorAccess": ("ANPAIWMBCKSKIEE64ZLYK", _document(_allow("*"))),
    "PowerUserAccess": (
        "ANPAJYRXTHIB4FOVS3ZXS",
        _document(
            {
                "Effect": "Allow",
                "NotAction": ["iam:*", "organizations:*", "account:*"],
                "Resource": "*",
            },
            _allow(["iam:CreateServiceLinkedRole", "iam:ListRoles", "organizations:Describe*"]),
        ),
    ),
    "ReadOnlyAccess": (
        "ANPAILL3HVNFSB6DCOWYQ",
        _document(_allow(["*:Get*", "*:List*", "*:Describe*"])),
    ),
    "IAMFullAccess": (
        "ANPAI7XKCFMBPM3QQRRVQ",
        _document(_allow(["iam:*", "organizations:Describe*"])),
    ),
    "IAMReadOnlyAccess": ("ANPAJKSO7NDY4T57MWDSQ", _document(_allow(["iam:Get*", "iam:List*"]))),
    "AmazonS3FullAccess": (
        "ANPAIFIR6V6BVTRAHWINE",
        _document(_allow(["s3:*", "s3-object-lambda:*"])),
    ),
    "AmazonS3ReadOnlyAccess": (
        "ANPAIZTJ4DXE7G6AGAE6M",
        _document(_allow(["s3:Get*", "s3:List*", "s3:Describe*"])),
    ),
}

AWS_MANAGED_POLICIES: dict[str, ManagedPolicy] = {
    name: ManagedPolicy(
        account="aws",
        name=name,
        policy_id=policy_id,
        created_at=_PUBLISHED,
        updated_at=_PUBLISHED,
        versions=(PolicyVersion(version_id="v1", document=document, created_at=_PUBLISHED),),
    )
    for name, (policy_id, document) in _DOCUMENTS.items()
}


def aws_managed_policy(arn: str) -> ManagedPolicy | None:
    """The AWS managed policy with that ARN, if the catalogue has it."""
    prefix = "arn:aws:iam::aws:policy/"
    if not arn.startswith(prefix):
        return None
    return AWS_MANAGED_POLICIES.get(arn[len(prefix) :])
