"""PolicyExclusionList identifiers in-process: wildcards match without a regex (issue 14)."""

from __future__ import annotations

import pytest

from controlplane.iam.simulation.exclusions import exclusions_of

POLICY = "arn:aws:iam::111122223333:policy/team/ReadOnly"


@pytest.mark.parametrize(
    ("pattern", "excluded"),
    [
        (POLICY, True),
        ("arn:aws:iam::111122223333:policy/*", True),
        ("arn:aws:iam::111122223333:policy/team/Read?nly", True),
        ("arn:aws:iam::111122223333:policy/*Only", True),
        ("arn:aws:iam::111122223333:policy/*Write", False),
        ("arn:aws:iam::111122223333:policy/team/Read?", False),
        ("arn:aws:iam::111122223333:policy/team.ReadOnly", False),  # '.' is no wildcard
    ],
)
def test_managed_policy_arns_match_with_star_and_question_mark(
    pattern: str, excluded: bool
) -> None:
    """One ``*`` (any run, slashes included) and ``?`` (one character) in the resource part."""
    exclusions = exclusions_of([{"PolicyArn": pattern}])
    assert exclusions.excludes(POLICY, "user-managed", None) is excluded


def test_inline_holders_match_by_wildcard_name() -> None:
    """An inline policy is left out when its name, holder kind and holder name all match."""
    identifier = {"PolicyName": "put", "AttachmentType": "user", "AttachmentName": "dev-?-*"}
    exclusions = exclusions_of([{"InlinePolicyIdentifier": identifier}])
    assert exclusions.excludes("put", "user", "user/dev-1-alice")
    assert not exclusions.excludes("put", "user", "user/dev-12-alice")
    assert not exclusions.excludes("put", "role", "role/dev-1-alice")
    assert not exclusions.excludes("get", "user", "user/dev-1-alice")
