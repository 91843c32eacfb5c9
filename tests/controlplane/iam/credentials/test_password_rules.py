"""Pure rules behind console passwords and SSH keys: the password policies, the salted
hashes and the SSH key reader (no cluster)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from awswire.errors import AwsError
from controlplane.iam.credentials.password_policy import policy_violation
from controlplane.iam.credentials.secret_hashing import hash_secret, matches_hash
from controlplane.iam.credentials.ssh_keys import read_public_key
from replication.entities import PasswordPolicy


@pytest.mark.parametrize(
    ("password", "violation"),
    [
        ("Ab1!", "Password should have a minimum length of 8"),
        (
            "abcdefgh1",
            "Password should have at least three of the following character types: "
            "uppercase letters, lowercase letters, numbers and symbols",
        ),
        ("Corp-Name1", "Password should not be the same as the account name or email address"),
        ("abcdEFGH1", None),
        ("abcdefg1!", None),
    ],
)
def test_default_policy(password: str, violation: str | None) -> None:
    """Eight characters, three of four character kinds, not the account's name or email."""
    assert policy_violation(password, None, ["corp-name1", "ops@example.com"]) == violation


def test_custom_policy_names_the_first_missing_requirement() -> None:
    """A custom policy checks length, then upper, lower, number and symbol in turn."""
    policy = PasswordPolicy(
        minimum_length=10,
        require_uppercase=True,
        require_lowercase=True,
        require_numbers=True,
        require_symbols=True,
    )
    assert policy_violation("short", policy) == "Password should have a minimum length of 10"
    assert policy_violation("lowercase-only1", policy) == (
        "Password should have at least one uppercase letter"
    )
    assert policy_violation("UPPERCASE-ONLY1", policy) == (
        "Password should have at least one lowercase letter"
    )
    assert policy_violation("Letters-Only", policy) == "Password should have at least one number"
    assert policy_violation("NoSymbols123", policy) == "Password should have at least one symbol"
    assert policy_violation("Good-Pass123", policy) is None
    # the custom policy replaces the default one entirely: six characters of one kind are fine
    assert policy_violation("aaaaaa", PasswordPolicy()) is None


def test_hashes_are_salted_and_verifiable() -> None:
    """The same secret hashes differently each time, and only it matches."""
    first, second = hash_secret("Secret-Pass1"), hash_secret("Secret-Pass1")
    assert first != second
    assert "Secret-Pass1" not in first
    assert matches_hash("Secret-Pass1", first) and matches_hash("Secret-Pass1", second)
    assert not matches_hash("secret-pass1", first)
    assert not matches_hash("Secret-Pass1", "not-a-hash")


def test_ssh_key_reader() -> None:
    """RSA keys of 2048+ bits are read from OpenSSH or PEM with the same MD5 fingerprint;
    other sizes and types are unrecognized, garbage is invalid."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    openssh = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body, fingerprint = read_public_key(openssh.decode() + " someone@laptop\n")
    assert body == openssh.decode()
    assert len(fingerprint) == 47 and fingerprint.count(":") == 15
    assert read_public_key(pem.decode()) == (body, fingerprint)

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    for unrecognized in (small, other):
        text = unrecognized.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        with pytest.raises(AwsError) as raised:
            read_public_key(text.decode())
        assert raised.value.code == "UnrecognizedPublicKeyEncoding"
    with pytest.raises(AwsError) as raised:
        read_public_key("ssh-rsa not-base64-at-all")
    assert raised.value.code == "InvalidPublicKey"
