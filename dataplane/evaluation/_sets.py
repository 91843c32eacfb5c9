"""Bits naming the policy types of a request (R40); masks say which apply and which allow."""

from __future__ import annotations

__all__ = ["BOUNDARY", "IDENTITY", "RCP", "RESOURCE", "SCP", "SESSION"]

IDENTITY, BOUNDARY, SESSION, RESOURCE, SCP, RCP = 1, 2, 4, 8, 16, 32
