"""The HTTP header names iam-planes adds between and around the planes.

Every AWS-shaped body stays exactly AWS's; what iam-planes says beside it travels in these.
"""

from __future__ import annotations

__all__ = ["MIN_VERSION_HEADER", "STALE_HEADER", "VERSION_HEADER"]

#: the log version an answer reflects (every control-plane answer, every STS answer)
VERSION_HEADER = "x-iam-planes-version"
#: the consistency token a caller sends: answer once this version is applied
MIN_VERSION_HEADER = "x-iam-planes-min-version"
#: the stale verdict on a data-plane answer (compact JSON of ``StaleVerdictFields``)
STALE_HEADER = "x-iam-planes-stale"
