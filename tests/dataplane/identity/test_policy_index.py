"""``PolicyIndex`` for roles, as STS sessions use it: inline + attached managed + boundary."""

from __future__ import annotations

import json

from dataplane.identity.policy_index import PolicyIndex
from replication.entities import Role
from tests.controlplane.organizations.test_organizations_evaluation import ALLOW_S3, World

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def test_role_policies_follow_attachments_versions_and_boundaries() -> None:
    """A role's identity policies track attach/default-version; its boundary is the default."""
    world = World()
    world.iam("CreateRole", RoleName="app", AssumeRolePolicyDocument=TRUST)
    world.iam("PutRolePolicy", RoleName="app", PolicyName="inline", PolicyDocument=ALLOW_S3)
    arn = world.iam("CreatePolicy", PolicyName="read", PolicyDocument=ALLOW_S3)["Policy"]["Arn"]
    index = PolicyIndex()

    def role() -> Role:
        found = world.state.role("111111111111", "app")
        assert found is not None
        return found

    assert len(index.identity_policies(world.state, role())) == 1
    world.iam("AttachRolePolicy", RoleName="app", PolicyArn=arn)
    attached = index.identity_policies(world.state, role())
    assert len(attached) == 2
    world.iam("CreatePolicyVersion", PolicyArn=arn, PolicyDocument=ALLOW_S3, SetAsDefault=True)
    recompiled = index.identity_policies(world.state, role())
    assert recompiled is not attached and recompiled[0] is attached[0]
    assert index.boundary(world.state, role()) is None
    world.iam("PutRolePermissionsBoundary", RoleName="app", PermissionsBoundary=arn)
    assert index.boundary(world.state, role()) is not None
