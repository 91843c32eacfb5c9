"""HTTP as an attacker speaks it: raw sockets, raw bodies, answers read whatever they are."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["exchange", "host_port", "post", "signed_post"]


def host_port(endpoint: str) -> tuple[str, int]:
    """The host and port of an ``http://host:port`` endpoint."""
    parts = urlsplit(endpoint)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def exchange(endpoint: str, request: bytes, pause: float = 0.0) -> tuple[bytes, float]:
    """Send ``request`` raw (a byte at a time with ``pause`` between, when set); everything
    answered until the server closes the connection, and the seconds that took."""
    with socket.create_connection(host_port(endpoint), timeout=60) as sock:
        started = time.monotonic()
        try:
            if pause:
                for byte in request:
                    sock.sendall(bytes([byte]))
                    time.sleep(pause)
            else:
                sock.sendall(request)
        except OSError:
            pass  # closed while we were still sending: the answer (if any) is what counts
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received, time.monotonic() - started


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, bytes]:
    """POST ``body``; the status and body of the answer, error answers included."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def signed_post(  # noqa: PLR0917 - where, what, and with which credentials
    endpoint: str,
    body: bytes,
    service: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
) -> tuple[int, bytes]:
    """POST a raw Query ``body`` signed with SigV4 by botocore (us-east-1)."""
    request = AWSRequest(
        method="POST",
        url=endpoint.rstrip("/") + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    credentials = Credentials(access_key_id, secret_access_key, session_token)
    SigV4Auth(credentials, service, "us-east-1").add_auth(request)
    return post(request.url, body, dict(request.headers.items()))
