"""SSH public keys of users (CodeCommit): Upload, Get, List, Update and DeleteSSHPublicKey.

Keys are RSA, 2048 to 16384 bits, uploaded in OpenSSH (``ssh-rsa ...``) or PEM form; they are
kept in OpenSSH form and served in either. The fingerprint is the MD5 of the key blob, in
colon-separated hex as ``ssh-keygen -E md5`` shows it.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from awswire.errors import AwsError
from controlplane.iam.credentials.user_changes import user_put, with_status, without
from controlplane.iam.operation import HandlerResult, Operation, OperationKind, Params, Requester
from controlplane.iam.principals.users import require_user, user_of_call, user_resource
from controlplane.iam.support.errors import no_such_entity, quota_exceeded
from controlplane.iam.support.pagination import paginate
from replication.entities import SshPublicKey, User
from replication.ids import new_unique_id
from replication.state import IamState

__all__ = ["OPERATIONS", "read_public_key"]

SSH_PUBLIC_KEYS_PER_USER = 5
SSH_KEY_ID_PREFIX = "APKA"
MINIMUM_RSA_BITS, MAXIMUM_RSA_BITS = 2048, 16384


def _invalid_key() -> AwsError:
    return AwsError(
        "InvalidPublicKey",
        "The request was rejected because the public key is malformed or otherwise invalid.",
        400,
    )


def _unrecognized_encoding() -> AwsError:
    return AwsError(
        "UnrecognizedPublicKeyEncoding",
        "The request was rejected because the public key encoding format is unsupported or "
        "unrecognized.",
        400,
    )


def read_public_key(body: str) -> tuple[str, str]:
    """The key's OpenSSH form and MD5 fingerprint; InvalidPublicKey when it cannot be read,
    UnrecognizedPublicKeyEncoding when it is not an RSA key of an accepted size."""
    text = body.strip()
    try:
        key = _load_public_key(text.encode("utf-8"))
    except UnsupportedAlgorithm:
        raise _unrecognized_encoding() from None
    except ValueError:
        raise _invalid_key() from None
    if not isinstance(key, RSAPublicKey):
        raise _unrecognized_encoding()
    if not MINIMUM_RSA_BITS <= key.key_size <= MAXIMUM_RSA_BITS:
        raise _unrecognized_encoding()
    openssh = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(openssh.split()[1])
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return openssh.decode("ascii"), fingerprint


def _load_public_key(data: bytes) -> object:
    # Typed as object: each cryptography release widens the loaders' key unions (51 added
    # ML-DSA), and the caller only accepts RSA, which it checks with isinstance.
    if data.startswith(b"-----BEGIN"):
        return serialization.load_pem_public_key(data)
    return serialization.load_ssh_public_key(data)


def _as_pem(openssh: str) -> str:
    key = serialization.load_ssh_public_key(openssh.encode("ascii"))
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def _require_key(user: User, key_id: str) -> SshPublicKey:
    found = next((k for k in user.ssh_public_keys if k.key_id == key_id), None)
    if found is None:
        raise no_such_entity(f"The Public Key with id {key_id} cannot be found.")
    return found


def _key_shape(user: User, key: SshPublicKey, body: str | None) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "UserName": user.name,
        "SSHPublicKeyId": key.key_id,
        "Status": key.status,
        "UploadDate": key.uploaded_at,
    }
    if body is not None:
        shape |= {"Fingerprint": key.fingerprint, "SSHPublicKeyBody": body}
    return shape


def upload_ssh_public_key(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UploadSSHPublicKey: at most five per user, never the same key twice for one user."""
    user = require_user(state, caller.account, params["UserName"])
    body, fingerprint = read_public_key(params["SSHPublicKeyBody"])
    if any(k.fingerprint == fingerprint for k in user.ssh_public_keys):
        raise AwsError(
            "DuplicateSSHPublicKey",
            "The request was rejected because the SSH public key is already associated with "
            "the specified IAM user.",
            400,
        )
    if len(user.ssh_public_keys) >= SSH_PUBLIC_KEYS_PER_USER:
        raise quota_exceeded("SSHPublicKeysPerUser", SSH_PUBLIC_KEYS_PER_USER)
    key = SshPublicKey(
        key_id=new_unique_id(SSH_KEY_ID_PREFIX),
        body=body,
        fingerprint=fingerprint,
        uploaded_at=now,
    )
    shape = _key_shape(user, key, key.body)
    return HandlerResult(
        {"SSHPublicKey": shape}, user_put(user, "ssh_public_keys", (*user.ssh_public_keys, key))
    )


def get_ssh_public_key(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetSSHPublicKey: the key in the Encoding asked for (SSH or PEM)."""
    user = require_user(state, caller.account, params["UserName"])
    key = _require_key(user, params["SSHPublicKeyId"])
    body = _as_pem(key.body) if params["Encoding"] == "PEM" else key.body
    return HandlerResult({"SSHPublicKey": _key_shape(user, key, body)})


def list_ssh_public_keys(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListSSHPublicKeys: a user's keys without their bodies (the caller's when unnamed)."""
    user = user_of_call(state, params, caller)
    if user is None:  # the root user has no SSH keys
        return HandlerResult({"SSHPublicKeys": [], "IsTruncated": False})
    page, more = paginate(user.ssh_public_keys, params, key=lambda k: k.key_id)
    return HandlerResult({"SSHPublicKeys": [_key_shape(user, k, None) for k in page], **more})


def update_ssh_public_key(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateSSHPublicKey: make a key Active or Inactive."""
    user = require_user(state, caller.account, params["UserName"])
    target = _require_key(user, params["SSHPublicKeyId"])
    keys = with_status(user.ssh_public_keys, target, params["Status"])
    return HandlerResult({}, user_put(user, "ssh_public_keys", keys))


def delete_ssh_public_key(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteSSHPublicKey: the key is gone for good."""
    user = require_user(state, caller.account, params["UserName"])
    target = _require_key(user, params["SSHPublicKeyId"])
    return HandlerResult(
        {}, user_put(user, "ssh_public_keys", without(user.ssh_public_keys, target))
    )


OPERATIONS = (
    Operation("UploadSSHPublicKey", upload_ssh_public_key, user_resource, OperationKind.WRITE),
    Operation("GetSSHPublicKey", get_ssh_public_key, user_resource, OperationKind.READ),
    Operation("ListSSHPublicKeys", list_ssh_public_keys, user_resource, OperationKind.READ),
    Operation("UpdateSSHPublicKey", update_ssh_public_key, user_resource, OperationKind.WRITE),
    Operation("DeleteSSHPublicKey", delete_ssh_public_key, user_resource, OperationKind.WRITE),
)
